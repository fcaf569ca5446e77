import type { DataKey, EncryptionContext, KeyRotation, KeyService } from "../ports/key-service.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retry } from "./retry.ts";

/**
 * A {@link KeyService} decorator that retries calls failing with a retryable error (throttling,
 * an unreachable service; see {@link retry}). Both calls are safe to repeat: a data key whose
 * generation response was lost is simply never used, and unwrapping has no side effect. A
 * `KeyError` for a wrong key or context is not retryable and surfaces at once.
 *
 * `rotate` is forwarded, when the inner service has it, but never retried: a rotation whose
 * answer was lost may well have happened, and repeating it would rotate twice (KMS counts
 * on-demand rotations against a lifetime limit).
 */
export class RetryingKeyService implements KeyService {
  readonly #inner: KeyService;
  readonly #policy: RetryPolicy;
  /** Present exactly when the inner service can rotate, so callers can test for it. */
  readonly rotate?: () => Promise<KeyRotation>;

  /**
   * @param inner the key service to call.
   * @param policy attempts, backoff and timers; {@link DEFAULT_RETRY_POLICY} unless given.
   */
  constructor(inner: KeyService, policy: RetryPolicy = DEFAULT_RETRY_POLICY) {
    this.#inner = inner;
    this.#policy = policy;
    if (typeof inner.rotate === "function") this.rotate = () => inner.rotate!();
  }

  generateDataKey(context: EncryptionContext): Promise<DataKey> {
    return retry(
      () => this.#inner.generateDataKey(context),
      this.#policy,
      `generate data key for ${context.purpose} of vault ${context.vault}`,
    );
  }

  decryptDataKey(wrapped: Uint8Array, context: EncryptionContext): Promise<Buffer> {
    return retry(
      () => this.#inner.decryptDataKey(wrapped, context),
      this.#policy,
      `decrypt data key for ${context.purpose} of vault ${context.vault}`,
    );
  }
}

import { ConflictError } from "../errors.ts";
import type { ReferenceStore } from "../ports/references.ts";
import { backoffDelay, DEFAULT_RETRY_POLICY, isRetryable, type RetryPolicy } from "./retry.ts";

/**
 * A {@link ReferenceStore} decorator that retries calls failing with a retryable error
 * (throttling, a busy database). Every reference-store call is idempotent by contract (holders
 * are sets, states move forward conditionally), so repeating one whose answer was lost is safe.
 *
 * A `ConflictError` is never retried here, although stale-reference conflicts are marked
 * retryable: it means the caller's view of the vault is stale, and only the caller (a backup
 * running again on a fresh index) can act on it, so it must reach the caller unchanged.
 */
export function retryingReferences(
  inner: ReferenceStore,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): ReferenceStore {
  return new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await value.apply(target, args);
          } catch (err) {
            if (err instanceof ConflictError || !isRetryable(err) || attempt >= policy.maxAttempts) throw err;
            await policy.sleep(backoffDelay(policy, attempt));
          }
        }
      };
    },
  });
}

import { setTimeout as delay } from "node:timers/promises";
import { BlockvaultError, TransientError, ValidationError } from "../errors.ts";

/** How {@link retry} repeats an operation that failed with a retryable error. */
export interface RetryPolicy {
  /** Calls in all, the first included (an integer >= 1; 1 means never retry). */
  readonly maxAttempts: number;
  /** Ceiling of the first backoff, in milliseconds; it doubles after each failure. */
  readonly baseDelayMs: number;
  /** Upper bound of any single backoff, in milliseconds. */
  readonly maxDelayMs: number;
  /** Waits `ms` milliseconds; injected so tests run without real time passing. */
  readonly sleep: (ms: number) => Promise<void>;
  /** A number in [0, 1) that scales each backoff (the jitter); injected for determinism. */
  readonly random: () => number;
}

/** Five attempts, backoff from 100 ms doubling up to 5 s, full jitter, real timers. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  sleep: (ms: number) => delay(ms),
  random: Math.random,
});

/** {@link DEFAULT_RETRY_POLICY} with `overrides` applied, checked for sane values. */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new ValidationError(`retry maxAttempts must be an integer >= 1, got ${policy.maxAttempts}`);
  }
  if (!(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= 0)) {
    throw new ValidationError("retry delays must be numbers >= 0");
  }
  return Object.freeze(policy);
}

/**
 * The wait before attempt `failed + 1`, after `failed` failures: "full jitter", a uniform draw
 * below `min(maxDelayMs, baseDelayMs * 2^(failed - 1))`. Full jitter (rather than a fixed
 * exponential step) keeps many clients that failed together from retrying together.
 */
export function backoffDelay(policy: RetryPolicy, failed: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failed - 1));
  return Math.floor(policy.random() * ceiling);
}

/** True for errors a repeat of the same call may cure. */
export function isRetryable(err: unknown): err is BlockvaultError {
  return err instanceof BlockvaultError && err.retryable;
}

/**
 * Runs `operation` until it succeeds, retrying only errors whose `retryable` is true, with
 * exponential backoff and full jitter between attempts. Anything else (a non-retryable
 * {@link BlockvaultError}, or any other thrown value) is rethrown at once, untouched.
 *
 * When the attempts run out the last error is rethrown wrapped, as its `cause`, in an error
 * whose message says `what` failed and how many attempts were made. The wrapper stays retryable
 * and keeps the last error's `code`; it is a `TransientError` when the last error was one, so
 * callers and state machines that key on the name still see a transient failure.
 *
 * `operation` receives the 1-based attempt number: a create-only write needs it to tell a
 * genuine conflict (first attempt) from its own earlier attempt having landed (a later one).
 */
export async function retry<T>(
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  what: string,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (err) {
      if (!isRetryable(err)) throw err;
      if (attempt >= policy.maxAttempts) throw exhausted(err, attempt, what);
      await policy.sleep(backoffDelay(policy, attempt));
    }
  }
}

function exhausted(last: BlockvaultError, attempts: number, what: string): BlockvaultError {
  const noun = attempts === 1 ? "attempt" : "attempts";
  const message = `${what} failed after ${attempts} ${noun}: ${last.message}`;
  if (last instanceof TransientError) return new TransientError(message, { cause: last });
  return new BlockvaultError(message, { cause: last, retryable: true, code: last.code });
}

import { AlreadyExistsError } from "../errors.ts";
import type { RetryPolicy } from "./retry.ts";
import { retryConditional } from "./retry-conditional.ts";

/**
 * Retries a create-only write, resolving the ambiguity retries bring: an attempt that failed
 * with a retryable error may still have landed, so a later attempt can find its own write there
 * and get `AlreadyExistsError`. On such a retry `landed` is asked whether the stored thing is the
 * one we tried to create; if so the create succeeded, if not the `AlreadyExistsError` stands.
 * On the first attempt `AlreadyExistsError` is always a genuine conflict. (See
 * {@link retryConditional}, of which this is the create-only case.)
 */
export function retryCreate(
  create: () => Promise<void>,
  landed: () => Promise<boolean>,
  policy: RetryPolicy,
  what: string,
): Promise<void> {
  return retryConditional(create, (err) => err instanceof AlreadyExistsError, landed, policy, what);
}

import { isRetryable, type RetryPolicy, retry } from "./retry.ts";

/**
 * Retries a conditional write (one the store refuses unless its current state is the expected
 * one: a version check, a create-only name), resolving the ambiguity retries bring. An attempt
 * that failed with a retryable error (a timeout, a lost response) may still have landed, so a
 * later attempt can find its own write there and be refused. On such a retry, when `refused`
 * recognises the error, `landed` is asked whether the stored record is exactly the one we wrote:
 * if so the write succeeded; if not, someone else's write stands and the refusal is rethrown.
 *
 * On the first attempt a refusal is always genuine and `landed` is not called. A retryable
 * failure of `landed` itself counts as a failed attempt (the loop tries the write again); any
 * other failure of it means the write cannot be shown to be ours, and the refusal is rethrown.
 * (`retryCreate` is the create-only case, refused with `AlreadyExistsError`.)
 */
export function retryConditional(
  write: () => Promise<void>,
  refused: (err: unknown) => boolean,
  landed: () => Promise<boolean>,
  policy: RetryPolicy,
  what: string,
): Promise<void> {
  return retry(
    async (attempt) => {
      try {
        await write();
      } catch (err) {
        if (attempt === 1 || !refused(err)) throw err;
        if (!(await confirm(landed, err))) throw err;
      }
    },
    policy,
    what,
  );
}

async function confirm(landed: () => Promise<boolean>, refusal: unknown): Promise<boolean> {
  try {
    return await landed();
  } catch (err) {
    if (isRetryable(err)) throw err;
    throw refusal;
  }
}

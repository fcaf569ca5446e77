import { AlreadyExistsError } from "../errors.ts";
import { isRetryable, type RetryPolicy, retry } from "./retry.ts";

/**
 * Retries a create-only write, resolving the ambiguity retries bring. An attempt that failed with
 * a retryable error (a timeout, a lost response) may still have landed, so a later attempt can
 * find its own write there and get `AlreadyExistsError`. On such a retry `landed` is asked
 * whether the stored thing is the one we tried to create: if so the create succeeded; if not,
 * someone else's record holds the name and the `AlreadyExistsError` stands.
 *
 * On the first attempt `AlreadyExistsError` is always a genuine conflict and `landed` is not
 * called. A retryable failure of `landed` itself counts as a failed attempt (the loop tries the
 * create again); any other failure of it (the record vanished, cannot be read) means the write
 * cannot be shown to be ours, and the `AlreadyExistsError` is rethrown.
 */
export function retryCreate(
  create: () => Promise<void>,
  landed: () => Promise<boolean>,
  policy: RetryPolicy,
  what: string,
): Promise<void> {
  return retry(
    async (attempt) => {
      try {
        await create();
      } catch (err) {
        if (attempt === 1 || !(err instanceof AlreadyExistsError)) throw err;
        if (!(await confirm(landed, err))) throw err;
      }
    },
    policy,
    what,
  );
}

async function confirm(landed: () => Promise<boolean>, conflict: AlreadyExistsError): Promise<boolean> {
  try {
    return await landed();
  } catch (err) {
    if (isRetryable(err)) throw err;
    throw conflict;
  }
}

import { setTimeout as sleep } from "node:timers/promises";
import { TransientError } from "../../errors.ts";

/** What an attempt returns to be run again: it lost a race, and nothing it did was written. */
export const AGAIN: unique symbol = Symbol("again");

/** Attempts before a lost race is reported as a retryable `TransientError`. */
const MAX_ATTEMPTS = 30;

/**
 * Runs an optimistic read-check-write `attempt` until it settles. An attempt returns
 * {@link AGAIN} only when its conditional write was refused *as a whole* (a transaction
 * cancelled, a condition on a version that moved on), so running it again cannot write anything
 * twice. Waits a short, jittered while between attempts, so that writers racing for one item
 * spread out; after {@link MAX_ATTEMPTS} it gives up with a `TransientError`, which the retry
 * decorator above the catalog may retry later.
 */
export async function untilSettled<T>(what: string, attempt: () => Promise<T | typeof AGAIN>): Promise<T> {
  for (let n = 1; ; n++) {
    const result = await attempt();
    if (result !== AGAIN) return result;
    if (n >= MAX_ATTEMPTS) {
      throw new TransientError(`${what}: lost the race for the same items ${n} times in a row`);
    }
    await sleep(Math.random() * Math.min(250, 4 * 2 ** n));
  }
}

import { setTimeout as sleep } from "node:timers/promises";
import { ConflictError } from "../../../errors.ts";

/** What an attempt returns to be run again: it lost a race, and nothing it did was written. */
export const AGAIN: unique symbol = Symbol("again");

/** Attempts before a lost race is reported as a (non-retryable) `ConflictError`. */
export const MAX_SETTLE_ATTEMPTS = 30;
/** Ceiling of the jittered pause before attempt `n + 1`, in milliseconds. */
export function settlePauseCeilingMs(n: number): number {
  return Math.min(250, 4 * 2 ** n);
}

/**
 * Runs an optimistic read-check-write `attempt` until it settles. An attempt returns
 * {@link AGAIN} only when its conditional write was refused *as a whole* (a transaction
 * cancelled, a condition on a version that moved on), so running it again cannot write anything
 * twice. Waits a short, jittered while between attempts, so that writers racing for one item
 * spread out. This is the one layer that retries a lost race (docs/design.md "Retry layers"):
 * after {@link MAX_SETTLE_ATTEMPTS} it gives up with a `ConflictError` that is not retryable,
 * so the retry decorator above the catalog does not run all of them again; the operation fails
 * and the unit around it (a queue delivery, a state machine's failure path) takes over.
 */
export async function untilSettled<T>(what: string, attempt: () => Promise<T | typeof AGAIN>): Promise<T> {
  for (let n = 1; ; n++) {
    const result = await attempt();
    if (result !== AGAIN) return result;
    if (n >= MAX_SETTLE_ATTEMPTS) {
      throw new ConflictError(`${what}: lost the race for the same items ${n} times in a row`, {
        retryable: false,
      });
    }
    await sleep(Math.random() * settlePauseCeilingMs(n));
  }
}

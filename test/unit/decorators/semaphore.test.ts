import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../lib/errors.ts";
import { Semaphore } from "../../../lib/util/semaphore.ts";

/** Lets other tasks run for `turns` event-loop turns: a duration without real time. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe("Semaphore", () => {
  it("never has more than `limit` holders, and fills up to it, under concurrent calls (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 30 }),
        async (limit, durations) => {
          const sem = new Semaphore(limit);
          let inside = 0;
          let peak = 0;
          const results = await Promise.all(
            durations.map((d, i) =>
              sem.run(async () => {
                inside++;
                peak = Math.max(peak, inside);
                expect(sem.active).toBeLessThanOrEqual(limit);
                await turns(d + 1);
                inside--;
                return i;
              }),
            ),
          );
          expect(results).toEqual(durations.map((_, i) => i));
          expect(peak).toBe(Math.min(limit, durations.length));
          expect(sem.active).toBe(0);
          expect(sem.waiting).toBe(0);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("serves waiters first come, first served", async () => {
    const sem = new Semaphore(1);
    const order: number[] = [];
    const release = await sem.acquire();
    const waiters = [1, 2, 3].map((n) => sem.run(async () => void order.push(n)));
    expect(sem.waiting).toBe(3);
    // A late caller must queue behind the waiters even though it arrives as the permit frees.
    release();
    const late = sem.run(async () => void order.push(4));
    await Promise.all([...waiters, late]);
    expect(order).toEqual([1, 2, 3, 4]);
  });

  it("gives the permit back when the task throws", async () => {
    const sem = new Semaphore(1);
    await expect(sem.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(sem.active).toBe(0);
    expect(await sem.run(async () => "next")).toBe("next");
  });

  it("ignores a second release of the same permit", async () => {
    const sem = new Semaphore(2);
    const a = await sem.acquire();
    await sem.acquire();
    a();
    a();
    expect(sem.active).toBe(1);
  });

  it("refuses a limit that is not an integer >= 1", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new Semaphore(bad), String(bad)).toThrow(ValidationError);
    }
  });
});

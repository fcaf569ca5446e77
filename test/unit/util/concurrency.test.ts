import { describe, expect, it } from "vitest";
import { forEachLimit, mapLimit } from "../../../lib/util/concurrency.ts";

const tick = () => new Promise((r) => setTimeout(r, 1));

/** Yields 0..n-1, recording how many were pulled. */
function counting(n: number, failAt?: number) {
  const state = { pulled: 0 };
  async function* items() {
    for (let i = 0; i < n; i++) {
      await tick();
      if (i === failAt) throw new Error(`producer failed at ${i}`);
      state.pulled++;
      yield i;
    }
  }
  return { state, items: items() };
}

describe("forEachLimit", () => {
  it("handles every item with at most `limit` calls in flight", async () => {
    const { items } = counting(20);
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachLimit(items, 3, async (i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      // Slower than the producer, so calls pile up to the limit.
      await new Promise((r) => setTimeout(r, 10));
      seen.push(i);
      inFlight--;
    });
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    expect(most).toBe(3);
  });

  it("stops pulling after a call fails and rethrows once the calls in flight end", async () => {
    const { state, items } = counting(100);
    let ended = 0;
    const run = forEachLimit(items, 2, async (i) => {
      await tick();
      if (i === 5) throw new Error("call failed");
      ended++;
    });
    await expect(run).rejects.toThrow("call failed");
    expect(state.pulled).toBeLessThan(10);
    expect(ended).toBe(state.pulled - 1);
  });

  it("passes a producer's failure on", async () => {
    const { items } = counting(10, 4);
    const seen: number[] = [];
    await expect(
      forEachLimit(items, 2, async (i) => {
        seen.push(i);
      }),
    ).rejects.toThrow("producer failed at 4");
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  it("does nothing for no items", async () => {
    const { items } = counting(0);
    let calls = 0;
    await forEachLimit(items, 4, async () => {
      calls++;
    });
    expect(calls).toBe(0);
  });
});

describe("mapLimit", () => {
  it("keeps the order of its items", async () => {
    const out = await mapLimit([5, 1, 3], 2, async (x) => {
      await new Promise((r) => setTimeout(r, x));
      return x * 2;
    });
    expect(out).toEqual([10, 2, 6]);
  });
});

describe("mapLimit after a failure", () => {
  it("starts no new call and rethrows only once the calls in flight have ended", async () => {
    const started: number[] = [];
    const ended: number[] = [];
    const error = await mapLimit([0, 1, 2, 3, 4], 2, async (x) => {
      started.push(x);
      await new Promise((r) => setTimeout(r, x === 0 ? 1 : 20));
      if (x === 0) throw new Error("first fails");
      ended.push(x);
      return x;
    }).catch((e: unknown) => e as Error);
    expect((error as Error).message).toBe("first fails");
    // Call 1 was in flight when call 0 failed: it ended before the failure was reported.
    expect(ended).toEqual([1]);
    expect(started).toEqual([0, 1]);
  });
});

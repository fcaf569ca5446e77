import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelay, DEFAULT_RETRY_POLICY, retry, retryPolicy } from "../../../lib/decorators/retry.ts";
import {
  BlockvaultError,
  IntegrityError,
  NotFoundError,
  TransientError,
  ValidationError,
} from "../../../lib/errors.ts";
import { instantPolicy } from "./fakes.ts";

/** An operation that fails `failures` times with `error(attempt)`, then returns "ok". */
function flaky(
  failures: number,
  error: (attempt: number) => unknown = (n) => new TransientError(`try ${n}`),
) {
  const attempts: number[] = [];
  const operation = async (attempt: number) => {
    attempts.push(attempt);
    if (attempts.length <= failures) throw error(attempt);
    return "ok";
  };
  return { operation, attempts };
}

describe("retry", () => {
  it("returns the first success without sleeping", async () => {
    const policy = instantPolicy();
    const { operation, attempts } = flaky(0);
    expect(await retry(operation, policy, "op")).toBe("ok");
    expect(attempts).toEqual([1]);
    expect(policy.delays).toEqual([]);
  });

  it("retries transient failures until one succeeds, numbering the attempts", async () => {
    for (let failures = 1; failures < 5; failures++) {
      const policy = instantPolicy();
      const { operation, attempts } = flaky(failures);
      expect(await retry(operation, policy, "op")).toBe("ok");
      expect(attempts).toEqual(Array.from({ length: failures + 1 }, (_, i) => i + 1));
      expect(policy.delays).toHaveLength(failures);
    }
  });

  it("rethrows a non-retryable error at once, untouched", async () => {
    const errors = [
      new IntegrityError("bad tag"),
      new TransientError("marked final", { retryable: false }),
      new Error("not ours"),
      "a string",
    ];
    for (const error of errors) {
      const policy = instantPolicy();
      const { operation, attempts } = flaky(1, () => error);
      await expect(retry(operation, policy, "op")).rejects.toBe(error);
      expect(attempts).toEqual([1]);
      expect(policy.delays).toEqual([]);
    }
  });

  it("gives up after maxAttempts, wrapping the last error and saying how many attempts were made", async () => {
    const policy = instantPolicy();
    const { operation, attempts } = flaky(99);
    const err = await retry(operation, policy, "get object x").catch((e: unknown) => e);
    expect(attempts).toEqual([1, 2, 3, 4, 5]);
    expect(policy.delays).toHaveLength(4);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).retryable).toBe(true);
    expect((err as Error).message).toBe("get object x failed after 5 attempts: try 5");
    expect((err as Error).cause).toBeInstanceOf(TransientError);
    expect(((err as Error).cause as Error).message).toBe("try 5");
  });

  it("keeps the code of a retryable error that is not a TransientError", async () => {
    const { operation } = flaky(99, () => new NotFoundError("not yet visible", { retryable: true }));
    const err = await retry(operation, instantPolicy({ maxAttempts: 2 }), "read").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlockvaultError);
    expect(err).toMatchObject({
      code: "NOT_FOUND",
      retryable: true,
      message: "read failed after 2 attempts: not yet visible",
    });
    expect((err as Error).cause).toBeInstanceOf(NotFoundError);
  });

  it("never retries with maxAttempts 1", async () => {
    const { operation, attempts } = flaky(1);
    const err = await retry(operation, instantPolicy({ maxAttempts: 1 }), "op").catch((e: unknown) => e);
    expect(attempts).toEqual([1]);
    expect((err as Error).message).toBe("op failed after 1 attempt: try 1");
  });

  it("backs off exponentially from 100 ms, capped at 5 s", async () => {
    const policy = instantPolicy({ maxAttempts: 10, random: () => 0.999_999 });
    await retry(flaky(99).operation, policy, "op").catch(() => undefined);
    expect(policy.delays).toEqual([99, 199, 399, 799, 1599, 3199, 4999, 4999, 4999]);
  });

  it("keeps every delay under its exponential ceiling whatever the jitter draws (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 12,
          maxLength: 12,
        }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 20_000 }),
        async (draws, maxAttempts, baseDelayMs, maxDelayMs) => {
          let i = 0;
          const policy = instantPolicy({ maxAttempts, baseDelayMs, maxDelayMs, random: () => draws[i++]! });
          await retry(flaky(99).operation, policy, "op").catch(() => undefined);
          expect(policy.delays).toHaveLength(maxAttempts - 1);
          policy.delays.forEach((ms, n) => {
            const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** n);
            expect(ms).toBeGreaterThanOrEqual(0);
            expect(ms).toBeLessThanOrEqual(ceiling);
            expect(ms).toBe(Math.floor(draws[n]! * ceiling));
          });
        },
      ),
    );
  });

  it("waits on real timers with the default sleep", async () => {
    const { operation, attempts } = flaky(2);
    const started = performance.now();
    expect(await retry(operation, retryPolicy({ baseDelayMs: 10, random: () => 0.999 }), "op")).toBe("ok");
    expect(attempts).toHaveLength(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });
});

describe("retry policies", () => {
  it("defaults to 5 attempts, 100 ms base, 5 s cap", () => {
    expect(DEFAULT_RETRY_POLICY).toMatchObject({ maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5000 });
    expect(Object.isFrozen(DEFAULT_RETRY_POLICY)).toBe(true);
    expect(retryPolicy()).toMatchObject({ maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5000 });
  });

  it("refuses nonsense with ValidationError", () => {
    for (const bad of [
      { maxAttempts: 0 },
      { maxAttempts: 1.5 },
      { baseDelayMs: -1 },
      { maxDelayMs: Number.NaN },
    ]) {
      expect(() => retryPolicy(bad), JSON.stringify(bad)).toThrow(ValidationError);
    }
  });

  it("computes the full-jitter delay from the failure count", () => {
    const policy = retryPolicy({ random: () => 0.5 });
    expect([1, 2, 3, 7, 8].map((n) => backoffDelay(policy, n))).toEqual([50, 100, 200, 2500, 2500]);
  });
});

import { describe, expect, it } from "vitest";
import { LimitedObjectStore } from "../../../lib/decorators/limited-object-store.ts";
import { RetryingObjectStore } from "../../../lib/decorators/retrying-object-store.ts";
import { TransientError } from "../../../lib/errors.ts";
import { type ObjectRetention, RetentionMode } from "../../../lib/ports/object-store.ts";
import { MemoryObjectStore } from "../../helpers/memory-object-store.ts";
import { instantPolicy } from "./fakes.ts";

/** A memory store with retention whose first `failures` retain calls fail transiently. */
class RetainingStore extends MemoryObjectStore {
  calls: [string, number, RetentionMode][] = [];
  failures = 0;
  async retain(key: string, until: number, mode: RetentionMode): Promise<ObjectRetention> {
    this.calls.push([key, until, mode]);
    if (this.failures-- > 0) throw new TransientError("slow down");
    return { until, mode };
  }
}

describe("decorators and the optional retain", () => {
  it("forward retain when the inner store has it, and have none when it has not", async () => {
    const inner = new RetainingStore();
    const wrapped = new RetryingObjectStore(new LimitedObjectStore(inner, 1), instantPolicy());
    expect(await wrapped.retain?.("packs/ab/1", 1000, RetentionMode.Compliance)).toEqual({
      until: 1000,
      mode: RetentionMode.Compliance,
    });
    expect(inner.calls).toEqual([["packs/ab/1", 1000, RetentionMode.Compliance]]);
    const plain = new RetryingObjectStore(
      new LimitedObjectStore(new MemoryObjectStore(), 1),
      instantPolicy(),
    );
    expect(plain.retain).toBeUndefined();
  });

  it("retries a transient retain failure (retention only extends, so repeating is safe)", async () => {
    const inner = new RetainingStore();
    inner.failures = 2;
    const policy = instantPolicy();
    const held = await new RetryingObjectStore(inner, policy).retain?.(
      "index/1",
      5,
      RetentionMode.Governance,
    );
    expect(held).toEqual({ until: 5, mode: RetentionMode.Governance });
    expect(inner.calls.length).toBe(3);
    expect(policy.delays).toHaveLength(2);
  });
});

import { MessageChannel } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { ownedArrayBuffer } from "../../../lib/util/buffers.ts";

describe("ownedArrayBuffer", () => {
  it("copies a view of a larger buffer into one of its own, and leaves a whole buffer as it is", () => {
    // Buffer.concat allocates small results from Node's shared pool, as key unwrapping does.
    const pooled = Buffer.concat([Buffer.alloc(16, 1), Buffer.alloc(16, 2)]);
    expect(pooled.buffer.byteLength).toBeGreaterThan(32);
    const own = ownedArrayBuffer(pooled);
    expect(own.byteLength).toBe(32);
    expect(Buffer.from(own).equals(pooled)).toBe(true);
    const whole = new ArrayBuffer(32);
    expect(ownedArrayBuffer(Buffer.from(whole))).toBe(whole);
  });

  it("posts only the bytes: a pooled view would carry its whole pool along", async () => {
    const pooled = Buffer.concat([Buffer.alloc(16, 7), Buffer.alloc(16, 9)]);
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<Uint8Array[]>((resolve) => port2.once("message", resolve));
    port1.postMessage([pooled, new Uint8Array(ownedArrayBuffer(pooled))]);
    const [asIs, own] = await received;
    port1.close();
    expect(asIs!.buffer.byteLength).toBe(pooled.buffer.byteLength);
    expect(own!.buffer.byteLength).toBe(32);
    expect(Buffer.from(own!).equals(pooled)).toBe(true);
  });
});

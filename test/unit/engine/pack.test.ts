import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PackBuilder, readPackTrailer } from "../../../lib/engine/pack/pack.ts";
import { IntegrityError } from "../../../lib/errors.ts";
import { seededBytes } from "../../helpers/image-bytes.ts";

const KEY = { wrapped: Buffer.from("a wrapped data key").toString("base64"), masterKeyId: "master-1" };
const hexId = (n: number) => n.toString(16).padStart(64, "0");

/** Builds a pack of blobs of the given lengths; returns it and the blobs' bytes. */
function build(lengths: readonly number[], buffer = Buffer.alloc(64)) {
  const builder = new PackBuilder(buffer);
  const blobs = lengths.map((n, i) => seededBytes(i + 1, n));
  blobs.forEach((blob, i) => {
    if (i % 2 === 0) builder.add(hexId(i), blob, n2raw(blob.length));
    else builder.reserve(hexId(i), blob.length, n2raw(blob.length)).set(blob);
  });
  return { builder, blobs, pack: builder.finish(KEY) };
}

const n2raw = (n: number) => n * 3;

describe("PackBuilder and readPackTrailer", () => {
  it("round-trips blobs, their places and the key through the trailer, for any blob sizes", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 30 }), (lengths) => {
        const { builder, blobs, pack } = build(lengths);
        expect(builder.count).toBe(lengths.length);
        expect(builder.size).toBe(lengths.reduce((a, b) => a + b, 0));
        expect(pack.id).toMatch(/^[0-9a-f]{64}$/);
        const trailer = readPackTrailer(pack.id, Buffer.from(pack.bytes));
        expect(trailer.key).toEqual(KEY);
        expect(trailer.blobs).toEqual(pack.blobs);
        trailer.blobs.forEach((b, i) => {
          expect(b.id).toBe(hexId(i));
          expect(b.rawLength).toBe(n2raw(blobs[i]!.length));
          expect(pack.bytes.subarray(b.offset, b.offset + b.length)).toEqual(blobs[i]);
        });
      }),
      { numRuns: 50 },
    );
  });

  it("grows past its buffer, and reset starts an empty pack at offset 0", () => {
    const { builder, pack } = build([100, 200, 300], Buffer.alloc(16));
    expect(pack.blobs.map((b) => b.offset)).toEqual([0, 100, 300]);
    const fresh = Buffer.alloc(1024);
    builder.reset(fresh);
    expect(builder.count).toBe(0);
    builder.add(hexId(9), seededBytes(9, 50), 50);
    const next = builder.finish(KEY);
    expect(next.blobs).toEqual([{ id: hexId(9), offset: 0, length: 50, rawLength: 50 }]);
    expect(next.bytes.buffer).toBe(fresh.buffer);
    expect(readPackTrailer(next.id, Buffer.from(next.bytes)).blobs).toEqual(next.blobs);
  });
});

describe("readPackTrailer refuses a damaged pack with an IntegrityError", () => {
  const { pack } = build([40, 60, 1]);
  const bytes = Buffer.from(pack.bytes);
  const blobsEnd = 101;

  it("too short, truncated anywhere, or with a trailer length out of range", () => {
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(() => readPackTrailer(pack.id, bytes.subarray(0, cut)), `cut at ${cut}`).toThrow(IntegrityError);
    }
    const long = Buffer.from(bytes);
    long.writeUInt32LE(bytes.length, bytes.length - 12);
    expect(() => readPackTrailer(pack.id, long)).toThrow(/trailer length out of range/);
  });

  it("any flipped byte of trailer or footer: an IntegrityError, or blobs that still tile the pack", () => {
    for (let at = blobsEnd; at < bytes.length; at++) {
      for (const bit of [0, 7]) {
        const copy = Buffer.from(bytes);
        copy[at]! ^= 1 << bit;
        let blobs: { offset: number; length: number }[];
        try {
          blobs = readPackTrailer(pack.id, copy).blobs;
        } catch (err) {
          expect(err, `byte ${at} bit ${bit}`).toBeInstanceOf(IntegrityError);
          continue;
        }
        // Undetected flips (an ID, a raw length, key bytes) are caught when the blob is opened;
        // what the trailer reader must guarantee is that every blob lies inside the pack's data.
        expect(at, "the footer is always checked").toBeLessThan(bytes.length - 12);
        let end = 0;
        for (const b of blobs) {
          expect(b.offset, `byte ${at}`).toBe(end);
          expect(b.length, `byte ${at}`).toBeGreaterThan(0);
          end += b.length;
        }
        expect(end, `byte ${at}`).toBe(blobsEnd);
      }
    }
  });

  it("names the pack in its messages", () => {
    expect(() => readPackTrailer("pack-xyz", bytes.subarray(0, 5))).toThrow(/pack pack-xyz/);
  });
});

import { constants, zstdDecompressSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BlockCompressor, Codec, zstdParams } from "../../../lib/engine/pack/block-compressor.ts";
import { seededBytes, seededText } from "../../helpers/image-bytes.ts";

const MiB = 1024 * 1024;

/** Random bytes except where the entropy sample looks (start and middle): zeros there. */
function incompressibleButSampledLow(size: number): Buffer {
  const data = seededBytes(9, size);
  data.fill(0, 0, 2048);
  const middle = (size >> 1) - 1024;
  data.fill(0, middle, middle + 2048);
  return data;
}

function decode(block: { codec: number; payload: Buffer }, original: Buffer): Buffer {
  return block.codec === Codec.Zstd
    ? zstdDecompressSync(block.payload, { maxOutputLength: original.length })
    : block.payload;
}

describe("BlockCompressor", () => {
  it("compresses text into a frame that decompresses to the block, with the codec byte in front", () => {
    const compressor = new BlockCompressor(3, 65536);
    expect(compressor.inPlace, "this Node's zstd stream internals are usable").toBe(true);
    const text = seededText(1, 65536);
    const out = compressor.compress(text);
    expect(out.codec).toBe(Codec.Zstd);
    expect(out.payload.length).toBeLessThan(text.length / 3);
    expect(zstdDecompressSync(out.payload)).toEqual(text);
    expect(out.framed?.[0]).toBe(Codec.Zstd);
    expect(out.framed?.subarray(1)).toEqual(out.payload);
  });

  it("stores random blocks as they are without trying (entropy sample)", () => {
    const random = seededBytes(2, 65536);
    const out = new BlockCompressor(3, 65536).compress(random);
    expect(out.codec).toBe(Codec.None);
    expect(out.payload).toBe(random);
  });

  it("drops a frame that does not save 3 %, and the next block still compresses correctly", () => {
    const compressor = new BlockCompressor(3, MiB);
    const stubborn = incompressibleButSampledLow(MiB);
    const first = compressor.compress(stubborn);
    expect(first.codec).toBe(Codec.None);
    expect(first.payload).toBe(stubborn);
    const text = seededText(3, MiB);
    const second = compressor.compress(text);
    expect(second.codec).toBe(Codec.Zstd);
    expect(zstdDecompressSync(second.payload, { maxOutputLength: MiB })).toEqual(text);
  });

  it("handles a block larger than it was sized for through the public API", () => {
    const compressor = new BlockCompressor(3, 4096);
    const text = seededText(4, 65536);
    const out = compressor.compress(text);
    expect(out.codec).toBe(Codec.Zstd);
    expect(out.framed).toBeUndefined();
    expect(zstdDecompressSync(out.payload)).toEqual(text);
  });

  it("round-trips any sequence of blocks on one context (property)", () => {
    const compressor = new BlockCompressor(3, 65536);
    const block = fc.oneof(
      fc.integer({ min: 1, max: 65536 }).chain((n) => fc.integer().map((seed) => seededText(seed, n))),
      fc.integer({ min: 1, max: 65536 }).chain((n) => fc.integer().map((seed) => seededBytes(seed, n))),
      fc.uint8Array({ minLength: 1, maxLength: 9000 }).map((a) => Buffer.from(a)),
    );
    fc.assert(
      fc.property(fc.array(block, { minLength: 1, maxLength: 12 }), (blocks) => {
        for (const data of blocks) expect(decode(compressor.compress(data), data)).toEqual(data);
      }),
      { numRuns: 60 },
    );
  });

  it("sizes zstd's window to the block and keeps other levels' own strategy", () => {
    expect(zstdParams(3, 65536)[constants.ZSTD_c_windowLog]).toBe(16);
    expect(zstdParams(3, 65536)[constants.ZSTD_c_strategy]).toBe(constants.ZSTD_dfast);
    expect(zstdParams(9, 65536)[constants.ZSTD_c_strategy]).toBeUndefined();
    expect(zstdParams(9, 1024)[constants.ZSTD_c_windowLog]).toBe(10);
  });
});

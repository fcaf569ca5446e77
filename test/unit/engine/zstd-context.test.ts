import { EventEmitter } from "node:events";
import { createZstdCompress, zstdDecompressSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { zstdContext } from "../../../lib/engine/pack/zstd-context.ts";
import { seededText } from "../../helpers/image-bytes.ts";

describe("zstdContext", () => {
  it("compresses a whole frame into the given part of the output", () => {
    const context = zstdContext(createZstdCompress())!;
    const text = seededText(1, 20_000);
    const out = Buffer.alloc(30_000, 0xee);
    const run = context.run(text, out, 100, 20_000)!;
    expect(run.inputLeft).toBe(0);
    expect(out[99]).toBe(0xee); // nothing before the offset
    expect(zstdDecompressSync(out.subarray(100, 100 + run.produced))).toEqual(text);
  });

  it("is undefined for a stream whose internals are not what it expects, so callers fall back", () => {
    const stranger = Object.assign(new EventEmitter(), {
      destroyed: false,
      _handle: {},
      _writeState: [0, 0],
    });
    expect(zstdContext(stranger)).toBeUndefined();
  });
});

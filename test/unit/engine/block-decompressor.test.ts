import { randomBytes } from "node:crypto";
import { zstdCompressSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BlockDecompressor } from "../../../lib/engine/pack/block-decompressor.ts";
import { seededText } from "../../helpers/image-bytes.ts";

const text = seededText(1, 65536);
const frame = zstdCompressSync(text);

describe("BlockDecompressor", () => {
  it("reuses one context on this Node and gives back the frame's content", () => {
    const d = new BlockDecompressor();
    expect(d.reusesContext, "this Node's zstd stream internals are usable").toBe(true);
    expect(d.decompress(frame, text.length)).toEqual(text);
    expect(d.decompress(frame, text.length)).toEqual(text);
  });

  it("refuses a damaged frame, a frame holding more, a frame followed by more, and goes on after each", () => {
    const d = new BlockDecompressor();
    const cases: [string, Buffer, number, RegExp][] = [
      ["truncated", frame.subarray(0, frame.length - 20), text.length, /damaged/],
      ["garbage", randomBytes(100), text.length, /damaged/],
      ["longer than allowed", frame, text.length - 1, /holds more than 65535 bytes/],
      ["a second frame behind", Buffer.concat([frame, frame]), text.length, /followed by other data/],
      ["a zip bomb", zstdCompressSync(Buffer.alloc(64 << 20)), text.length, /holds more than/],
    ];
    for (const [what, bytes, max, message] of cases) {
      expect(() => d.decompress(bytes, max), what).toThrow(message);
      expect(d.decompress(frame, text.length), `after ${what}`).toEqual(text);
    }
  });

  it("decompresses into the caller's buffer when it has room, into a new one when not", () => {
    const d = new BlockDecompressor();
    const into = Buffer.alloc(text.length + 10);
    const out = d.decompress(frame, text.length, into.subarray(3));
    expect(out).toEqual(text);
    expect(out.buffer).toBe(into.buffer);
    expect(out.byteOffset).toBe(into.byteOffset + 3);
    // Exactly the content's size leaves no byte to show a longer frame: not used.
    const tight = Buffer.alloc(text.length);
    const fresh = d.decompress(frame, text.length, tight);
    expect(fresh).toEqual(text);
    expect(fresh.buffer).not.toBe(tight.buffer);
    expect(tight.every((b) => b === 0)).toBe(true);
  });

  it("returns a shorter content as it is (the caller checks the exact length)", () => {
    expect(new BlockDecompressor().decompress(frame, text.length + 5)).toEqual(text);
  });

  it("round-trips any sequence of frames, good and bad, on one context (property)", () => {
    const d = new BlockDecompressor();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 5000 }), fc.boolean()), { minLength: 1, maxLength: 10 }),
        (items) => {
          for (const [bytes, damage] of items) {
            const data = Buffer.from(bytes);
            const good = zstdCompressSync(data);
            if (damage && good.length > 8)
              expect(() => d.decompress(good.subarray(0, good.length - 4), data.length)).toThrow();
            expect(d.decompress(good, data.length)).toEqual(data);
          }
        },
      ),
      { numRuns: 80 },
    );
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { segmentsTouched } from "../../../lib/engine/backup/changed-ranges.ts";
import {
  CONFIG_KEY,
  DEFAULT_BLOCK_SIZE,
  idFromKey,
  indexKey,
  isValidBlockSize,
  manifestKey,
  packKey,
} from "../../../lib/engine/store/layout.ts";
import { isValidObjectKey } from "../../../lib/ports/object-store.ts";

describe("isValidBlockSize", () => {
  it("accepts the powers of two from 4 KiB to 4 MiB, and the default", () => {
    for (let n = 4096; n <= 4 * 1024 * 1024; n *= 2) expect(isValidBlockSize(n), String(n)).toBe(true);
    expect(isValidBlockSize(DEFAULT_BLOCK_SIZE)).toBe(true);
  });

  it("refuses everything else", () => {
    for (const n of [
      0,
      -4096,
      2048,
      4095,
      4097,
      6144,
      8 * 1024 * 1024,
      4096.5,
      Number.NaN,
      Infinity,
      2 ** 40,
    ]) {
      expect(isValidBlockSize(n), String(n)).toBe(false);
    }
  });
});

describe("object keys", () => {
  const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);

  it("packs and manifests live in a shard named by a prefix of their id; ids come back out", () => {
    fc.assert(
      fc.property(hex64, (id) => {
        for (const [key, top] of [
          [packKey(id), "packs"],
          [manifestKey(id), "manifests"],
        ] as const) {
          const [dir, shard, name, ...rest] = key.split("/");
          expect([dir, name, rest]).toEqual([top, id, []]);
          expect(shard!.length).toBeGreaterThan(0);
          expect(id.startsWith(shard!)).toBe(true);
        }
        expect(indexKey(id)).toBe(`index/${id}`);
        for (const key of [packKey(id), manifestKey(id), indexKey(id)]) {
          expect(isValidObjectKey(key)).toBe(true);
          expect(idFromKey(key)).toBe(id);
        }
      }),
    );
    expect(isValidObjectKey(CONFIG_KEY)).toBe(true);
  });
});

describe("segmentsTouched", () => {
  const SEG = 1000;

  it("maps ranges to the segments they overlap, boundaries exact", () => {
    expect(segmentsTouched([], SEG)).toEqual(new Set());
    expect(segmentsTouched([{ offset: 0, length: 1 }], SEG)).toEqual(new Set([0]));
    expect(segmentsTouched([{ offset: 999, length: 1 }], SEG)).toEqual(new Set([0]));
    expect(segmentsTouched([{ offset: 999, length: 2 }], SEG)).toEqual(new Set([0, 1]));
    expect(segmentsTouched([{ offset: 1000, length: 1000 }], SEG)).toEqual(new Set([1]));
    expect(segmentsTouched([{ offset: 500, length: 2600 }], SEG)).toEqual(new Set([0, 1, 2, 3]));
    expect(
      segmentsTouched(
        [
          { offset: 5000, length: 10 },
          { offset: 10, length: 10 },
          { offset: 5005, length: 10 },
        ],
        SEG,
      ),
    ).toEqual(new Set([0, 5]));
  });

  it("ignores empty ranges", () => {
    expect(segmentsTouched([{ offset: 3000, length: 0 }], SEG)).toEqual(new Set());
  });

  it("is exactly the set of segments holding some byte of some range", () => {
    const range = fc.record({ offset: fc.nat(20_000), length: fc.nat(5000) });
    fc.assert(
      fc.property(fc.array(range, { maxLength: 6 }), fc.integer({ min: 1, max: 3000 }), (ranges, seg) => {
        const expected = new Set<number>();
        for (const r of ranges)
          for (let b = r.offset; b < r.offset + r.length; b++) expected.add(Math.floor(b / seg));
        expect(segmentsTouched(ranges, seg)).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });
});

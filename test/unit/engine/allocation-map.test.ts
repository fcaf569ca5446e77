import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AllocationMap } from "../../../lib/engine/backup/allocation-map.ts";

const SIZE = 1000;

describe("AllocationMap", () => {
  it("trusts only a sorted, disjoint map inside the volume", () => {
    expect(AllocationMap.of(undefined, SIZE)).toBeUndefined();
    expect(AllocationMap.of([], SIZE)).toBeDefined();
    expect(
      AllocationMap.of(
        [
          { offset: 0, length: 10 },
          { offset: 10, length: 5 },
        ],
        SIZE,
      ),
    ).toBeDefined();
    for (const bad of [
      [
        { offset: 20, length: 5 },
        { offset: 0, length: 5 },
      ], // unsorted
      [
        { offset: 0, length: 10 },
        { offset: 9, length: 5 },
      ], // overlapping
      [{ offset: 995, length: 10 }], // past the end
      [{ offset: 5, length: 0 }], // empty
      [{ offset: -1, length: 5 }],
      [{ offset: 1.5, length: 5 }],
    ]) {
      expect(AllocationMap.of(bad, SIZE), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it("says of a chunk: nothing, all of it, or the parts inside it", () => {
    const map = AllocationMap.of(
      [
        { offset: 0, length: 100 },
        { offset: 150, length: 10 },
        { offset: 170, length: 30 },
        { offset: 500, length: 500 },
      ],
      SIZE,
    )!;
    expect(map.chunk(0, 100)).toEqual({ kind: "all" });
    expect(map.chunk(100, 50)).toEqual({ kind: "none" });
    expect(map.chunk(200, 300)).toEqual({ kind: "none" });
    expect(map.chunk(600, 100)).toEqual({ kind: "all" });
    expect(map.chunk(50, 150)).toEqual({
      kind: "parts",
      parts: [
        { offset: 0, length: 50 },
        { offset: 100, length: 10 },
        { offset: 120, length: 30 },
      ],
    });
  });

  it("gives the same parts as intersecting every range with the chunk", () => {
    const maps = fc
      .uniqueArray(fc.integer({ min: 0, max: SIZE }), { minLength: 0, maxLength: 20 })
      .map((cuts) => {
        const sorted = [...cuts].sort((a, b) => a - b);
        const ranges: { offset: number; length: number }[] = [];
        for (let i = 0; i + 1 < sorted.length; i += 2) {
          ranges.push({ offset: sorted[i]!, length: sorted[i + 1]! - sorted[i]! });
        }
        return ranges.filter((r) => r.length > 0);
      });
    fc.assert(
      fc.property(maps, fc.nat(SIZE - 1), fc.integer({ min: 1, max: SIZE }), (ranges, offset, want) => {
        const length = Math.min(want, SIZE - offset);
        const expected = ranges
          .map((r) => ({
            from: Math.max(r.offset, offset),
            to: Math.min(r.offset + r.length, offset + length),
          }))
          .filter((p) => p.to > p.from)
          .map((p) => ({ offset: p.from - offset, length: p.to - p.from }));
        const got = AllocationMap.of(ranges, SIZE)!.chunk(offset, length);
        const parts = got.kind === "none" ? [] : got.kind === "all" ? [{ offset: 0, length }] : got.parts;
        // Adjacent ranges may come back as two parts or be read as all: compare the bytes covered.
        const cover = (ps: readonly { offset: number; length: number }[]) => {
          const bits = new Uint8Array(length);
          for (const p of ps) bits.fill(1, p.offset, p.offset + p.length);
          return [...bits].join("");
        };
        expect(cover(parts)).toBe(cover(expected));
      }),
      { numRuns: 300 },
    );
  });
});

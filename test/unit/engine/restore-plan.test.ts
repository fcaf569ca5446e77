import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BlockIndex } from "../../../lib/engine/index/block-index.ts";
import { planReads } from "../../../lib/engine/restore/restore-plan.ts";
import { IntegrityError } from "../../../lib/errors.ts";

const KEY = { wrapped: "d3JhcHBlZA==", masterKeyId: "master-1" };
const KiB = 1024;
const MiB = 1024 * KiB;
/** A block ID in hex from a small number (0 stands for a hole). */
const idOf = (n: number) => n.toString(16).padStart(64, "0");

/** A block map: one 32-byte ID per block, `0` for a hole. */
function blockMap(ids: readonly number[]): Buffer {
  return Buffer.concat(ids.map((n) => Buffer.from(idOf(n), "hex")));
}

/** An index of packs, each a list of `[block number, offset, length]`. */
function indexOf(packs: Record<string, [number, number, number][]>): BlockIndex {
  const index = new BlockIndex();
  for (const [id, blobs] of Object.entries(packs)) {
    index.addPack({
      id,
      size: 0,
      key: KEY,
      blobs: blobs.map(([n, offset, length]) => ({ id: idOf(n), offset, length, rawLength: 4096 })),
    });
  }
  return index;
}

describe("planReads", () => {
  it("skips holes and fetches a block used at several places once", () => {
    const index = indexOf({ p: [[1, 0, 100]] });
    const reads = planReads(blockMap([1, 0, 1, 0, 1]), 0, 5, index);
    expect(reads).toEqual([
      {
        pack: "p",
        offset: 0,
        length: 100,
        blobs: [{ id: idOf(1), offset: 0, length: 100, rawLength: 4096, blocks: [0, 2, 4] }],
      },
    ]);
    expect(planReads(blockMap([0, 0, 0]), 0, 3, index)).toEqual([]);
  });

  it("merges blobs of a pack across small gaps, in offset order, and splits at large gaps", () => {
    const index = indexOf({
      p: [
        [1, 0, 100],
        [2, 100, 50],
        [3, 200 * KiB, 10],
        [4, 2 * MiB, 10],
      ],
    });
    const reads = planReads(blockMap([4, 3, 2, 1]), 0, 4, index);
    expect(reads.map((r) => [r.pack, r.offset, r.length, r.blobs.map((b) => b.blocks[0])])).toEqual([
      ["p", 0, 200 * KiB + 10, [3, 2, 1]],
      ["p", 2 * MiB, 10, [0]],
    ]);
  });

  it("reads each pack separately, and only the blocks in the window", () => {
    const index = indexOf({ a: [[1, 0, 10]], b: [[2, 0, 10]] });
    const ids = blockMap([1, 2, 1, 2]);
    const reads = planReads(ids, 0, 4, index);
    expect(reads.map((r) => [r.pack, r.blobs[0]!.blocks])).toEqual([
      ["a", [0, 2]],
      ["b", [1, 3]],
    ]);
    expect(planReads(ids, 1, 3, index).map((r) => [r.pack, r.blobs[0]!.blocks])).toEqual([
      ["b", [1]],
      ["a", [2]],
    ]);
  });

  it("bounds every read, even over contiguous blobs", () => {
    const blobs: [number, number, number][] = Array.from({ length: 40 }, (_, i) => [i + 1, i * MiB, MiB]);
    const reads = planReads(blockMap(blobs.map(([n]) => n)), 0, 40, indexOf({ p: blobs }));
    expect(reads.length).toBeGreaterThan(1);
    for (const r of reads) expect(r.length).toBeLessThanOrEqual(8 * MiB);
    expect(reads.flatMap((r) => r.blobs).length).toBe(40);
  });

  it("is an IntegrityError naming the block when the index does not know it", () => {
    const index = indexOf({ p: [[1, 0, 10]] });
    expect(() => planReads(blockMap([1, 0, 7]), 0, 3, index)).toThrow(IntegrityError);
    expect(() => planReads(blockMap([1, 0, 7]), 0, 3, index)).toThrow(/block 2 of the disk/);
  });

  it("covers every non-hole block of the window exactly once, each blob inside its read", () => {
    const layout = fc.record({
      map: fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 60 }),
      sizes: fc.array(fc.integer({ min: 1, max: 600 * KiB }), { minLength: 12, maxLength: 12 }),
      packOf: fc.array(fc.constantFrom("a", "b", "c"), { minLength: 12, maxLength: 12 }),
      window: fc.tuple(fc.nat(), fc.nat()),
    });
    fc.assert(
      fc.property(layout, ({ map, sizes, packOf, window }) => {
        const packs: Record<string, [number, number, number][]> = {};
        const ends: Record<string, number> = {};
        for (let n = 1; n <= 12; n++) {
          const pack = packOf[n - 1]!;
          const at = ends[pack] ?? 0;
          packs[pack] = [...(packs[pack] ?? []), [n, at, sizes[n - 1]!]];
          ends[pack] = at + sizes[n - 1]! + (n % 3) * 100 * KiB;
        }
        const first = window[0] % map.length;
        const end = first + 1 + (window[1] % (map.length - first));
        const reads = planReads(blockMap(map), first, end, indexOf(packs));
        const covered: number[] = [];
        for (const r of reads) {
          for (const b of r.blobs) {
            expect(b.offset).toBeGreaterThanOrEqual(r.offset);
            expect(b.offset + b.length).toBeLessThanOrEqual(r.offset + r.length);
            expect(
              packs[r.pack]!.some(([n, o, l]) => idOf(n) === b.id && o === b.offset && l === b.length),
            ).toBe(true);
            for (const block of b.blocks) expect(idOf(map[block]!)).toBe(b.id);
            covered.push(...b.blocks);
          }
        }
        const expected = map.flatMap((n, i) => (n !== 0 && i >= first && i < end ? [i] : []));
        expect(covered.sort((x, y) => x - y)).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});

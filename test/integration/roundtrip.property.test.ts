import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initLocalVault } from "../../lib/compose/local.ts";
import type { Vault } from "../../lib/vault.ts";
import { sha256 } from "../helpers/image-bytes.ts";
import {
  blockKeys,
  buildImage,
  expectedStats,
  mutate,
  mutationArb,
  runArb,
  sizeArb,
} from "../helpers/image-model.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile, restoreBytes } from "../helpers/vault-ops.ts";

const BLOCK = 4096;
const MAX_SIZE = 3 * 1024 * 1024;
let root: string;

beforeAll(async () => {
  root = await tempDir("roundtrip");
});

afterAll(async () => {
  if (root) await removeDir(root);
});

async function countObjects(vault: Vault): Promise<number> {
  let n = 0;
  for await (const _ of vault.ctx.deps.store.list("")) n++;
  return n;
}

/** Compares without printing megabytes on failure. */
function expectSame(actual: Buffer, expected: Buffer, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  expect(sha256(actual), label).toBe(sha256(expected));
}

const chainArb = fc.record({
  size: sizeArb(BLOCK, MAX_SIZE),
  runs: fc.array(runArb, { minLength: 1, maxLength: 12 }),
  incrementals: fc.array(fc.array(mutationArb, { minLength: 1, maxLength: 8 }), {
    minLength: 2,
    maxLength: 4,
  }),
  range: fc.record({ start: fc.double({ min: 0, max: 1, noNaN: true }), length: fc.nat() }),
  // One worker or two: with two, the blocks of one backup are sealed into packs by both.
  workers: fc.constantFrom("1", "2"),
});

/** A byte range inside a disk of `size` bytes from two arbitrary numbers. */
function rangeIn(size: number, start: number, length: number): { offset: number; length: number } {
  const offset = Math.min(size - 1, Math.floor(start * size));
  return { offset, length: 1 + (length % (size - offset)) };
}

describe("backup then restore, for random images and chains of incrementals", () => {
  it("restores every point of the chain byte-identical; dedups within the image and across disks", async () => {
    let run = 0;
    let imagesWithDuplicates = 0;
    await fc.assert(
      fc.asyncProperty(chainArb, async ({ size, runs, incrementals, range, workers }) => {
        process.env.BLOCKVAULT_WORKERS = workers;
        const dir = join(root, `run-${run++}`);
        const vault = await initLocalVault(join(dir, "vault"), { name: "prop", blockSize: BLOCK });
        try {
          const imagePath = join(dir, "disk.img");
          const images = [buildImage(size, runs, BLOCK)];
          for (const mutations of incrementals) images.push(mutate(images.at(-1)!, mutations, BLOCK));
          const keys = blockKeys(images[0]!, BLOCK).filter((k) => k !== "hole");
          if (new Set(keys).size < keys.length) imagesWithDuplicates++;
          const stored = new Set<string>();
          const points: string[] = [];
          for (const [i, image] of images.entries()) {
            await writeFile(imagePath, image);
            const r = await backupFile(vault, imagePath, "disk");
            const expected = expectedStats(image, images[i - 1], stored, BLOCK);
            expect(r.parent, `point ${i}`).toBe(points.at(-1) ?? null);
            expect(r.logicalSize, `point ${i}`).toBe(size);
            expect(r.bytesScanned, `point ${i}`).toBe(size);
            expect({ blocksNew: r.blocksNew, bytesChanged: r.bytesChanged }, `point ${i}`).toEqual(expected);
            points.push(r.recoveryPointId);
          }
          const restored = await Promise.all(points.map((id) => restoreBytes(vault, id, dir)));
          for (const [i, bytes] of restored.entries()) expectSame(bytes, images[i]!, `restore of point ${i}`);

          // The latest image again, under another disk name: only its root manifest is new.
          const objectsBefore = await countObjects(vault);
          const clone = await backupFile(vault, imagePath, "clone");
          expect(clone.blocksNew).toBe(0);
          expect(clone.parent).toBeNull();
          expect(await countObjects(vault)).toBe(objectsBefore + 1);
          expect(clone.bytesStored).toBeLessThanOrEqual(Math.ceil(size / BLOCK) * 32 + 1024);
          const { offset, length } = rangeIn(size, range.start, range.length);
          const slice = await restoreBytes(vault, clone.recoveryPointId, dir, { offset, length });
          expectSame(slice, images.at(-1)!.subarray(offset, offset + length), `clone ${offset}+${length}`);
        } finally {
          await vault.close();
          await removeDir(dir);
        }
      }),
      { numRuns: 15 },
    );
    // The generator must really produce repeated blocks, or dedup within an image goes untested.
    expect(imagesWithDuplicates).toBeGreaterThan(0);
  }, 180_000);
});

describe("byte-range restore", () => {
  const SIZE = 1_234_567;
  let vault: Vault;
  const images: Buffer[] = [];
  const points: string[] = [];

  beforeAll(async () => {
    process.env.BLOCKVAULT_WORKERS = "1";
    vault = await initLocalVault(join(root, "ranges"), { name: "ranges", blockSize: BLOCK });
    const [runs, mutations] = fc.sample(
      fc.tuple(
        fc.array(runArb, { minLength: 8, maxLength: 12 }),
        fc.array(mutationArb, { minLength: 8, maxLength: 8 }),
      ),
      { numRuns: 1, seed: 42 },
    )[0]!;
    images.push(buildImage(SIZE, runs, BLOCK));
    images.push(mutate(images[0]!, mutations, BLOCK));
    for (const image of images) {
      await writeFile(join(root, "ranges.img"), image);
      points.push((await backupFile(vault, join(root, "ranges.img"), "disk")).recoveryPointId);
    }
  });

  afterAll(async () => {
    await vault?.close();
  });

  it("any offset and length inside the disk restores exactly that slice", async () => {
    const edge = fc.constantFrom(0, BLOCK - 1, BLOCK, SIZE - BLOCK, SIZE - 1);
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 1 }),
        fc.oneof(fc.integer({ min: 0, max: SIZE - 1 }), edge),
        fc.oneof(fc.integer({ min: 1, max: SIZE }), fc.integer({ min: 1, max: 2 * BLOCK + 1 })),
        async (p, offset, wanted) => {
          const length = Math.min(wanted, SIZE - offset);
          const slice = await restoreBytes(vault, points[p]!, root, { offset, length });
          expectSame(slice, images[p]!.subarray(offset, offset + length), `${offset}+${length} of ${p}`);
        },
      ),
      { numRuns: 20 },
    );
  }, 60_000);
});

import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FsObjectArchive } from "../../lib/adapters/local/fs-object-archive.ts";
import { FsObjectStore } from "../../lib/adapters/local/fs-object-store.ts";
import { initLocalVault } from "../../lib/adapters/local/local-vault.ts";
import { ArchivedObjectError, IntegrityError, ValidationError } from "../../lib/errors.ts";
import { systemClock } from "../../lib/ports/clock.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { buildImage, mutate, mutationArb, runArb, sizeArb } from "../helpers/image-model.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { BACKENDS } from "../helpers/two-backends.ts";
import { backupFile } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";
const BLOCK = 4096;
let root: string;
let run = 0;

beforeAll(async () => {
  root = await tempDir("point-reader");
});
afterAll(async () => {
  if (root) await removeDir(root);
});

/** A fresh embedded vault and a path for its disk image. */
async function freshVault(): Promise<{ vault: Vault; dir: string; image: string }> {
  const dir = join(root, `v${run++}`);
  const vault = await initLocalVault(join(dir, "vault"), { name: "reader", blockSize: BLOCK });
  return { vault, dir, image: join(dir, "disk.img") };
}

/** Backs up `bytes` as the next point of disk `d1`. */
async function backUp(vault: Vault, image: string, bytes: Buffer): Promise<string> {
  await writeFile(image, bytes);
  return (await backupFile(vault, image, "d1")).recoveryPointId;
}

/** Every pack file of an embedded vault, as store keys. */
async function packKeys(dir: string): Promise<string[]> {
  const packs = join(dir, "vault", "objects", "packs");
  const keys: string[] = [];
  for (const sub of await readdir(packs)) {
    for (const name of await readdir(join(packs, sub)))
      if (!name.startsWith(".")) keys.push(`packs/${sub}/${name}`);
  }
  return keys;
}

describe("random-access reads of a recovery point", () => {
  it("return exactly the disk's bytes, for random chains of incrementals and random ranges", async () => {
    const chainArb = fc.record({
      size: sizeArb(BLOCK, 512 * 1024),
      runs: fc.array(runArb, { minLength: 1, maxLength: 8 }),
      incrementals: fc.array(fc.array(mutationArb, { minLength: 1, maxLength: 6 }), { maxLength: 2 }),
      ranges: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.nat()), {
        minLength: 1,
        maxLength: 6,
      }),
      cacheBlocks: fc.constantFrom(0, 1, 64),
    });
    await fc.assert(
      fc.asyncProperty(chainArb, async ({ size, runs, incrementals, ranges, cacheBlocks }) => {
        const { vault, image } = await freshVault();
        try {
          const images = [buildImage(size, runs, BLOCK)];
          for (const m of incrementals) images.push(mutate(images.at(-1)!, m, BLOCK));
          const points: string[] = [];
          for (const bytes of images) points.push(await backUp(vault, image, bytes));
          for (const [i, pointId] of points.entries()) {
            const reader = await vault.openPointReader(pointId, { cacheBytes: cacheBlocks * BLOCK });
            expect(reader.size).toBe(size);
            for (const [start, n] of ranges) {
              const offset = Math.floor(start * size);
              const length = n % (size - offset + 1);
              const got = await reader.read(offset, length);
              expect(got.equals(images[i]!.subarray(offset, offset + length)), `${offset}+${length}`).toBe(
                true,
              );
            }
            expect(reader.stats.cachedBytes).toBeLessThanOrEqual(cacheBlocks * BLOCK);
            reader.close();
          }
        } finally {
          await vault.close();
        }
      }),
      { numRuns: 12 },
    );
  });

  it("fetch only the packs' byte ranges the asked blocks need, holes without any read", async () => {
    const { vault, image } = await freshVault();
    const bytes = Buffer.concat([seededBytes(1, 64 * BLOCK), Buffer.alloc(16 * BLOCK)]);
    const pointId = await backUp(vault, image, bytes);
    const reader = await vault.openPointReader(pointId);
    expect((await reader.read(70 * BLOCK, 4 * BLOCK)).equals(Buffer.alloc(4 * BLOCK))).toBe(true);
    expect(reader.stats.packReads).toBe(0);
    const got = await reader.read(10 * BLOCK + 100, 50);
    expect(got.equals(bytes.subarray(10 * BLOCK + 100, 10 * BLOCK + 150))).toBe(true);
    expect(reader.stats.packReads).toBe(1);
    // One sealed block: its (incompressible) bytes and the seal's overhead, not the whole pack.
    expect(reader.stats.bytesFetched).toBeGreaterThanOrEqual(BLOCK);
    expect(reader.stats.bytesFetched).toBeLessThan(BLOCK + 64);
    await vault.close();
  });

  it("serve repeated and concurrent reads of a block from one fetch, within the cache's bound", async () => {
    const { vault, image } = await freshVault();
    const bytes = seededBytes(2, 32 * BLOCK);
    const pointId = await backUp(vault, image, bytes);
    const reader = await vault.openPointReader(pointId, { cacheBytes: 4 * BLOCK });
    const same = await Promise.all(Array.from({ length: 5 }, () => reader.read(3 * BLOCK, BLOCK)));
    for (const got of same) expect(got.equals(bytes.subarray(3 * BLOCK, 4 * BLOCK))).toBe(true);
    expect(reader.stats.packReads).toBe(1);
    await reader.read(3 * BLOCK + 10, 20);
    expect(reader.stats.packReads).toBe(1);
    // Blocks far apart in the pack are fetched one by one; the cache keeps only the last four.
    for (let b = 8; b < 32; b += 4) await reader.read(b * BLOCK, 1);
    expect(reader.stats.cachedBytes).toBeLessThanOrEqual(4 * BLOCK);
    const before = reader.stats.packReads;
    await reader.read(3 * BLOCK, 1);
    expect(reader.stats.packReads).toBe(before + 1);
    await vault.close();
  });

  it("refuse ranges outside the disk naming the point, and read zero bytes as nothing", async () => {
    const { vault, image } = await freshVault();
    const pointId = await backUp(vault, image, seededBytes(3, 8 * BLOCK));
    const reader = await vault.openPointReader(pointId);
    expect((await reader.read(8 * BLOCK, 0)).length).toBe(0);
    for (const [offset, length] of [
      [-1, 10],
      [8 * BLOCK - 1, 2],
      [0, 1.5],
    ] as const) {
      const err = await reader.read(offset, length).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toContain(pointId);
    }
    reader.close();
    await expect(reader.read(0, 1)).rejects.toThrow(/closed/);
    await vault.close();
  });

  it("fail a read of a damaged block with an IntegrityError, never wrong bytes", async () => {
    const { vault, image, dir } = await freshVault();
    const pointId = await backUp(vault, image, seededBytes(4, 8 * BLOCK));
    const [pack] = await packKeys(dir);
    const file = join(dir, "vault", "objects", pack!);
    const { withFlippedByte } = await import("../helpers/corrupt.ts");
    await withFlippedByte(file, 5 * BLOCK + 7, async () => {
      const reader = await vault.openPointReader(pointId, { cacheBytes: 0 });
      await expect(reader.read(0, 8 * BLOCK)).rejects.toBeInstanceOf(IntegrityError);
    });
    await vault.close();
  });

  it("refuse an archived point's blocks as its restore would, until rehydrated", async () => {
    const { vault, image, dir } = await freshVault();
    const pointId = await backUp(vault, image, seededBytes(5, 8 * BLOCK));
    const archive = new FsObjectArchive(
      new FsObjectStore(join(dir, "vault", "objects"), { clock: systemClock }),
      {
        clock: systemClock,
      },
    );
    for (const key of await packKeys(dir)) await archive.setStorageClass(key, "GLACIER");
    const reader = await vault.openPointReader(pointId);
    await expect(reader.read(0, BLOCK)).rejects.toBeInstanceOf(ArchivedObjectError);
    await vault.close();
  });

  it.each(BACKENDS)("read the same bytes as the disk on the %s backend", async (_name, create) => {
    const vault = await create(join(root, `b${run++}`), systemClock);
    try {
      const image = join(root, `b${run++}.img`);
      const bytes = Buffer.concat([
        seededBytes(6, 20 * BLOCK),
        Buffer.alloc(5 * BLOCK),
        seededBytes(7, 1000),
      ]);
      const pointId = await backUp(vault, image, bytes);
      const reader = await vault.openPointReader(pointId);
      expect((await reader.read(0, bytes.length)).equals(bytes)).toBe(true);
      expect(
        (await reader.read(19 * BLOCK + 5, 4 * BLOCK)).equals(bytes.subarray(19 * BLOCK + 5, 23 * BLOCK + 5)),
      ).toBe(true);
      const audit = await vault.listAudit({ action: "point.read" });
      expect(audit.map((e) => e.target)).toContain(pointId);
    } finally {
      await vault.close();
    }
  });
});

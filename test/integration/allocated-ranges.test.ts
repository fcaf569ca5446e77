import { open, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import type { VolumeRange, VolumeSource } from "../../lib/ports/volume-source.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes, seededText } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "2";

const MIB = 1024 * 1024;
/** With 4 KiB blocks and 256-block segments the scan reads 1 MiB chunks. */
const CHUNK = MIB;
const SIZE = 8 * CHUNK;

let root: string;
let vault: Vault;

beforeEach(async () => {
  root = await tempDir("allocated");
  vault = await initLocalVault(join(root, "vault"), { name: "allocated", blockSize: 4096 });
});

afterEach(async () => {
  await vault.close();
  await removeDir(root);
});

/** An image with data at `pieces` (offset → bytes), zeros elsewhere. */
function imageWith(pieces: ReadonlyMap<number, Buffer>): Buffer {
  const image = Buffer.alloc(SIZE);
  for (const [offset, bytes] of pieces) bytes.copy(image, offset);
  return image;
}

/** A source over `image` that lists `allocated` as its allocation map and records its reads. */
function mappedSource(image: Buffer, allocated: () => Promise<readonly VolumeRange[] | undefined>) {
  const reads: number[] = [];
  const spans: VolumeRange[] = [];
  const source: VolumeSource = {
    description: "mapped image",
    size: image.length,
    format: "raw",
    read: async (offset, length, into) => {
      reads.push(offset);
      spans.push({ offset, length });
      const bytes = image.subarray(offset, Math.min(image.length, offset + length));
      if (!into) return Buffer.from(bytes);
      bytes.copy(into);
      return into.subarray(0, bytes.length);
    },
    allocatedRanges: allocated,
    close: async () => {},
  };
  return { source, reads, spans };
}

const data = new Map([
  [100, seededBytes(1, 300_000)], // chunk 0
  [3 * CHUNK + 4096, seededText(2, 200_000)], // chunk 3
  [7 * CHUNK + 8192, seededBytes(3, 5000)], // chunk 7
]);
const dataRanges: VolumeRange[] = [...data].map(([offset, bytes]) => ({ offset, length: bytes.length }));

describe("backups of a source that knows where its data is", () => {
  it("read only what the map names and record the rest as holes: the same point as reading all", async () => {
    const image = imageWith(data);
    const mapped = mappedSource(image, async () => dataRanges);
    const sparse = await vault.backup(mapped.source, { disk: "sparse" });
    expect(mapped.spans.sort((a, b) => a.offset - b.offset)).toEqual(dataRanges);

    const everything = mappedSource(image, async () => undefined);
    const full = await vault.backup(everything.source, { disk: "full" });
    expect(everything.reads).toHaveLength(SIZE / CHUNK);
    // Same blocks (nothing new the second time), same change and scan totals.
    expect(full.blocksNew).toBe(0);
    expect(sparse.bytesChanged).toBe(full.bytesChanged);
    expect(sparse.bytesScanned).toBe(SIZE);
    expect(await restoreBytes(vault, sparse.recoveryPointId, root)).toEqual(image);
  });

  it("count data the parent had where the map now has none as changed, and restore it as zeros", async () => {
    const before = imageWith(new Map([...data, [5 * CHUNK, seededBytes(4, 70_000)]]));
    const parent = await vault.backup(mappedSource(before, async () => undefined).source, { disk: "d" });
    const after = imageWith(data);
    const mapped = mappedSource(after, async () => dataRanges);
    const child = await vault.backup(mapped.source, { disk: "d" });
    expect(mapped.reads).not.toContain(5 * CHUNK);
    // The 70,000 bytes of chunk 5 lay in 18 blocks of 4 KiB, all gone now.
    expect(child.bytesChanged).toBe(18 * 4096);
    expect(child.blocksNew).toBe(0);
    expect(await restoreBytes(vault, child.recoveryPointId, root)).toEqual(after);
    expect(await restoreBytes(vault, parent.recoveryPointId, root)).toEqual(before);
  });

  it("read a chunk whole when the map covers it, and several parts of one chunk each once", async () => {
    const pieces = new Map([
      [0, seededBytes(5, CHUNK)], // all of chunk 0
      [2 * CHUNK + 10, seededText(6, 5000)], // two parts of chunk 2
      [2 * CHUNK + 600_000, seededBytes(7, 4096)],
    ]);
    const image = imageWith(pieces);
    const ranges = [...pieces].map(([offset, bytes]) => ({ offset, length: bytes.length }));
    const mapped = mappedSource(image, async () => ranges);
    const result = await vault.backup(mapped.source, { disk: "d" });
    expect(mapped.spans.sort((a, b) => a.offset - b.offset)).toEqual(ranges);
    expect(await restoreBytes(vault, result.recoveryPointId, root)).toEqual(image);
  });

  it("read everything when the map is malformed: overlapping, unsorted or past the end", async () => {
    const image = imageWith(data);
    for (const bad of [
      [...dataRanges].reverse(),
      [dataRanges[0]!, { offset: dataRanges[0]!.offset + 10, length: 10 }],
      [...dataRanges, { offset: SIZE - 10, length: 20 }],
    ]) {
      const mapped = mappedSource(image, async () => bad);
      const result = await vault.backup(mapped.source, { disk: "bad" });
      expect(mapped.reads).toHaveLength(SIZE / CHUNK);
      expect(await restoreBytes(vault, result.recoveryPointId, root)).toEqual(image);
    }
  });

  it("read everything when the map cannot be had, and still succeed", async () => {
    const image = imageWith(data);
    const failing = mappedSource(image, () => Promise.reject(new Error("no extent map today")));
    const result = await vault.backup(failing.source, { disk: "d" });
    expect(failing.reads).toHaveLength(SIZE / CHUNK);
    expect(await restoreBytes(vault, result.recoveryPointId, root)).toEqual(image);
  });

  it("of a sparse image file, read by the workers, restore byte-identical", async () => {
    const path = join(root, "sparse.img");
    await writeFile(path, "");
    await truncate(path, SIZE);
    const file = await open(path, "r+");
    for (const [offset, bytes] of data) await file.write(bytes, 0, bytes.length, offset);
    await file.close();
    const source = await openFileSource(path);
    try {
      const ranges = await source.allocatedRanges?.();
      // Whatever the filesystem says (or nothing, where it cannot tell), the point is the image.
      for (const [offset, bytes] of data) {
        const inside = (ranges ?? [{ offset: 0, length: SIZE }]).some(
          (r) => r.offset <= offset && offset + bytes.length <= r.offset + r.length,
        );
        expect(inside).toBe(true);
      }
      const result = await vault.backup(source, { disk: "file" });
      expect(await restoreBytes(vault, result.recoveryPointId, root)).toEqual(imageWith(data));
    } finally {
      await source.close();
      await rm(path, { force: true });
    }
  });
});

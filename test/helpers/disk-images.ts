import { createHash } from "node:crypto";
import { lstat, open, readdir, readlink, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { runTool } from "./disk-tools.ts";

const SECTOR = 512;
const MiB = 1024 * 1024;

/** Kinds of ext file system the tests build. */
export const EXT_VARIANTS = {
  ext4: ["-t", "ext4"],
  "ext4-nojournal": ["-t", "ext4", "-O", "^has_journal"],
  ext3: ["-t", "ext3"],
  ext2: ["-t", "ext2"],
} as const;
export type ExtVariant = keyof typeof EXT_VARIANTS;

/** Makes `path` a sparse file of `size` bytes (a blank disk). */
export async function blankDisk(path: string, sizeMiB: number): Promise<void> {
  await writeFile(path, "");
  await truncate(path, sizeMiB * MiB);
}

/** Writes an MBR partition table with sfdisk from its script (`start=…, size=…, type=…` lines). */
export function sfdisk(path: string, lines: readonly string[]): void {
  runTool("sfdisk", ["--quiet", "--no-reread", "--no-tell-kernel", path], {
    input: `label: dos\n${lines.join("\n")}\n`,
  });
}

/** The partitions sfdisk reads back: number, start sector, sectors, type. */
export function sfdiskList(path: string): { number: number; start: number; size: number; type: string }[] {
  const table = JSON.parse(runTool("sfdisk", ["--json", path])) as {
    partitiontable: { partitions: { node: string; start: number; size: number; type: string }[] };
  };
  return table.partitiontable.partitions.map((p) => ({
    number: Number(/(\d+)$/.exec(p.node)![1]),
    start: p.start,
    size: p.size,
    type: p.type,
  }));
}

/** Builds an ext file system from `tree` with mke2fs -d, `sizeMiB` large, at byte `offset`. */
export function mkExt(path: string, tree: string, variant: ExtVariant, sizeMiB: number, offset = 0): void {
  runTool("mke2fs", [
    "-q",
    "-F",
    ...EXT_VARIANTS[variant],
    "-d",
    tree,
    "-E",
    `offset=${offset}`,
    path,
    `${sizeMiB * 1024}k`,
  ]);
}

/** Builds a FAT file system of `bits` at `offsetSector` and copies `tree` into it with mcopy. */
export async function mkFat(
  path: string,
  tree: string,
  bits: 12 | 16 | 32,
  sizeKiB: number,
  offsetSector = 0,
) {
  // One sector per cluster keeps a small FAT32 above its minimum cluster count.
  const cluster = bits === 32 ? ["-s", "1"] : [];
  runTool("mkfs.vfat", [
    "-F",
    String(bits),
    ...cluster,
    "--offset",
    String(offsetSector),
    path,
    String(sizeKiB),
  ]);
  const image = `${path}@@${offsetSector * SECTOR}`;
  for (const name of await readdir(tree)) {
    runTool("mcopy", ["-s", "-p", "-m", "-i", image, join(tree, name), "::/"]);
  }
}

/**
 * Compares an extracted tree with the tree an image was built from: the same entries, types,
 * permission bits, mtimes (to the second), symlink targets and bytes. Files larger than 64 MiB
 * (the sparse ones past 4 GiB) compare by size, their tail and that they stayed sparse.
 * `simple` (FAT) compares neither modes nor links.
 */
export async function expectSameTree(expected: string, actual: string, simple = false): Promise<void> {
  const names = async (dir: string) => (await readdir(dir, { recursive: true })).map(String).sort();
  const want = await names(expected);
  expect(await names(actual)).toEqual(want);
  for (const name of want) {
    const [a, b] = await Promise.all([lstat(join(expected, name)), lstat(join(actual, name))]);
    const where = `${name} in ${actual}`;
    expect(b.isDirectory(), where).toBe(a.isDirectory());
    expect(b.isSymbolicLink(), where).toBe(a.isSymbolicLink());
    if (!simple) expect((b.mode & 0o7777).toString(8), where).toBe((a.mode & 0o7777).toString(8));
    if (!simple || !a.isDirectory()) {
      // FAT keeps mtimes to two seconds.
      expect(
        Math.abs(Math.floor(b.mtimeMs / 1000) - Math.floor(a.mtimeMs / 1000)),
        where,
      ).toBeLessThanOrEqual(simple ? 2 : 0);
    }
    if (a.isSymbolicLink())
      expect(await readlink(join(actual, name)), where).toBe(await readlink(join(expected, name)));
    if (!a.isFile()) continue;
    expect(b.size, where).toBe(a.size);
    if (a.size > 64 * MiB) {
      expect(b.blocks * 512, `${where} stays sparse`).toBeLessThan(MiB);
      expect(await tail(join(actual, name), 4096)).toEqual(await tail(join(expected, name), 4096));
    } else {
      expect(await digest(join(actual, name)), where).toBe(await digest(join(expected, name)));
      if (a.blocks < b.blocks)
        expect(b.blocks * 512 - a.blocks * 512, `${where} stays sparse`).toBeLessThanOrEqual(64 * 1024);
    }
    if (!simple && a.nlink > 1) expect(b.nlink, `${where} hard links`).toBe(a.nlink);
  }
}

async function digest(path: string): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

async function tail(path: string, length: number): Promise<Buffer> {
  const f = await open(path, "r");
  try {
    const { size } = await f.stat();
    const buffer = Buffer.alloc(Math.min(length, size));
    await f.read(buffer, 0, buffer.length, size - buffer.length);
    return buffer;
  } finally {
    await f.close();
  }
}

/** Overwrites `bytes` at `offset` of the file at `path` (to damage a structure). */
export async function patchFile(path: string, offset: number, bytes: Buffer): Promise<void> {
  const f = await open(path, "r+");
  try {
    await f.write(bytes, 0, bytes.length, offset);
  } finally {
    await f.close();
  }
}

/** Removes files, ignoring missing ones. */
export async function removeAll(...paths: string[]): Promise<void> {
  for (const p of paths) await rm(p, { recursive: true, force: true });
}

import { chmod, link, mkdir, open, symlink, truncate, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { seededBytes } from "./image-bytes.ts";

/** A name of 255 bytes, the longest ext4 allows. */
export const LONG_NAME = `${"l".repeat(250)}.txt`;
/** Names in several scripts and with spaces. */
export const ODD_NAMES = ["naïve café.txt", "日本語のファイル", "emoji-📦.bin", "space and 'quotes'"];
/** Directory chain of the deep path. */
export const DEEP_DIRS = Array.from({ length: 40 }, (_, i) => `level-${i}`);
/** The sparse file larger than 4 GiB: a hole, then these bytes at its end. */
export const BIG_SPARSE = { name: "big.sparse", size: 5 * 1024 ** 3 + 4096, tail: "the end of a 5 GiB file" };

const MTIME = new Date("2024-03-05T06:07:08Z");

/**
 * Writes the tree the file-system tests build images from and compare extractions against:
 * regular files of several sizes and modes, a sparse file with holes between data, a sparse file
 * past 4 GiB, symlinks (relative, absolute, dangling), hard links, a 255-byte name, non-ASCII
 * names and a 40-level deep path. `simple` leaves out what FAT cannot hold (links, modes, the
 * huge file) and keeps names FAT accepts.
 */
export async function writeTestTree(dir: string, simple = false): Promise<void> {
  await mkdir(join(dir, "etc", "nginx", "sites"), { recursive: true });
  await writeFile(join(dir, "etc", "nginx", "nginx.conf"), "worker_processes 4;\n");
  await writeFile(join(dir, "etc", "nginx", "sites", "default.conf"), "server { listen 80; }\n");
  await writeFile(join(dir, "one-mib.bin"), seededBytes(11, 1024 * 1024));
  await writeFile(join(dir, "empty"), "");
  await writeFile(join(dir, "odd-size.bin"), seededBytes(12, 123_457));
  await writeFile(join(dir, LONG_NAME), "long\n");
  // mtools writes long names in UCS-2 only: FAT gets the names outside the emoji plane.
  for (const name of simple ? ODD_NAMES.filter((n) => !n.includes("📦")) : ODD_NAMES) {
    await writeFile(join(dir, name), `${name}\n`);
  }
  await mkdir(join(dir, ...DEEP_DIRS), { recursive: true });
  await writeFile(join(dir, ...DEEP_DIRS, "bottom.txt"), "deep\n");
  const sparse = await open(join(dir, "holes.bin"), "w");
  await sparse.write(seededBytes(13, 8192), 0, 8192, 0);
  await sparse.write(seededBytes(14, 4096), 0, 4096, 3 * 1024 * 1024);
  await sparse.truncate(6 * 1024 * 1024);
  await sparse.close();
  if (!simple) {
    await chmod(join(dir, "etc", "nginx", "nginx.conf"), 0o640);
    await writeFile(join(dir, "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
    await chmod(join(dir, "run.sh"), 0o4755);
    await symlink("nginx/nginx.conf", join(dir, "etc", "relative-link"));
    await symlink("/etc/passwd", join(dir, "absolute-link"));
    await symlink("does/not/exist", join(dir, "dangling-link"));
    await link(join(dir, "odd-size.bin"), join(dir, "hard-link.bin"));
    await writeFile(join(dir, BIG_SPARSE.name), "");
    await truncate(join(dir, BIG_SPARSE.name), BIG_SPARSE.size - BIG_SPARSE.tail.length);
    const big = await open(join(dir, BIG_SPARSE.name), "a");
    await big.write(BIG_SPARSE.tail);
    await big.close();
  }
  await setTimes(dir);
}

/** Every entry gets the same fixed mtime, so a kept mtime is told from "now". */
async function setTimes(dir: string): Promise<void> {
  const { readdir, lutimes } = await import("node:fs/promises");
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    const path = join(e.parentPath, e.name);
    if (e.isSymbolicLink()) await lutimes(path, MTIME, MTIME);
    else await utimes(path, MTIME, MTIME);
  }
  await utimes(dir, MTIME, MTIME);
}

/** The mtime every entry of the test tree has. */
export const TREE_MTIME = MTIME;

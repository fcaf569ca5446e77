/**
 * Where a local image file holds data, from the filesystem's extent map, so that a backup need
 * not read the unallocated rest (which reads as zeros). VM images are usually sparse: a disk
 * image that is mostly free space is mostly unallocated, and reading its holes costs CPU time
 * even when they are in the page cache.
 *
 * Node offers neither `lseek(SEEK_DATA)` nor the FIEMAP ioctl, so the map comes from `filefrag`
 * (e2fsprogs, installed with nearly every Linux distribution), which asks the kernel for it with
 * FIEMAP. A map that leaves out data would lose it, so it is used only when every doubt is ruled
 * out, and otherwise the engine reads everything:
 * - the file is on ext2/3/4, XFS or Btrfs, whose FIEMAP reports every extent that holds data,
 *   including data still in the page cache (delayed allocation) and preallocated extents;
 * - `filefrag -s` syncs the file before mapping it, so no dirty page is left to a filesystem's
 *   handling of delayed allocation, and it maps the very file the source has open (the open
 *   descriptor is handed to it; a path could name another file by then);
 * - its output parses completely and makes sense for the file's size.
 */
import { spawn } from "node:child_process";
import { fstatSync } from "node:fs";
import { statfs } from "node:fs/promises";
import type { VolumeRange } from "../../../ports/volume-source.ts";

/** Filesystems (statfs `f_type`) whose FIEMAP lists every extent holding data. */
export const MAPPED_FILESYSTEMS = { ext4: 0xef53, xfs: 0x58465342, btrfs: 0x9123683e } as const;

/** Where `filefrag` is looked for: the PATH, then the sbin directories a user's PATH may lack. */
const FILEFRAG = ["filefrag", "/usr/sbin/filefrag", "/sbin/filefrag"] as const;

/** A map taking longer than this is not worth waiting for: reading everything is the fallback. */
const TIMEOUT_MS = 30_000;
/** Output larger than this (a badly fragmented file) is not parsed. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * The ranges of the open file `fd` that may hold data, clipped to its first `size` bytes, or
 * undefined when the map is not known for certain (see the module comment). Never throws.
 */
export async function allocatedExtents(fd: number, size: number): Promise<VolumeRange[] | undefined> {
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) return undefined;
    const mapped: readonly number[] = Object.values(MAPPED_FILESYSTEMS);
    if (!mapped.includes((await statfs(`/proc/self/fd/${fd}`)).type)) return undefined;
    for (const program of FILEFRAG) {
      const run = await runFilefrag(program, fd);
      if (run === "missing") continue;
      if (run === undefined) return undefined;
      return parseFilefrag(run, info.size, size);
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** filefrag's output for the file `fd`, "missing" if there is no such program, else undefined. */
function runFilefrag(program: string, fd: number): Promise<string | "missing" | undefined> {
  return new Promise((resolve) => {
    // The descriptor becomes the child's fd 3, which it opens through /proc/self/fd/3.
    const child = spawn(program, ["-s", "-e", "/proc/self/fd/3"], {
      stdio: ["ignore", "pipe", "ignore", fd],
      env: { ...process.env, LC_ALL: "C" },
      timeout: TIMEOUT_MS,
    });
    const chunks: Buffer[] = [];
    let bytes = 0;
    child.stdout?.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_OUTPUT_BYTES) child.kill();
      else chunks.push(chunk);
    });
    child.on("error", (err: NodeJS.ErrnoException) => resolve(err.code === "ENOENT" ? "missing" : undefined));
    child.on("close", (code) => {
      resolve(code === 0 && bytes <= MAX_OUTPUT_BYTES ? Buffer.concat(chunks).toString("utf8") : undefined);
    });
  });
}

const SIZE_LINE = /^File size of .* is (\d+) \((\d+) blocks? of (\d+) bytes\)$/m;
const TABLE_HEADER = /^\s*ext:\s+logical_offset:\s+physical_offset:\s+length:/m;
/** `  3:    18432..   21503:   11182080..  11185151:   3072:    expected:  flags` */
const EXTENT_LINE = /^\s*(\d+):\s+(\d+)\.\.\s*(\d+):\s+(\d+)\.\.\s*(\d+):\s+(\d+):(.*)$/;

/**
 * Parses `filefrag -e` output for a file of `fileBytes` bytes into sorted, merged byte ranges
 * clipped to `[0, size)`; undefined unless every line after the table header is an extent (or
 * there is no table and the count says there are no extents), the
 * file size it reports is `fileBytes`, and the extents are numbered and in order. The
 * logical columns are in the unit of the size line ("blocks of N bytes").
 */
export function parseFilefrag(output: string, fileBytes: number, size: number): VolumeRange[] | undefined {
  const sizeLine = SIZE_LINE.exec(output);
  if (!sizeLine || Number(sizeLine[1]) !== fileBytes) return undefined;
  const unit = Number(sizeLine[3]);
  if (!Number.isSafeInteger(unit) || unit <= 0 || Number(sizeLine[2]) !== Math.ceil(fileBytes / unit)) {
    return undefined;
  }
  const header = TABLE_HEADER.exec(output);
  // A file of holes only has no table, just its count.
  if (!header) return /: 0 extents found$/m.test(output) ? [] : undefined;
  const lines = output
    .slice(header.index + header[0].length)
    .split("\n")
    .slice(1);
  const ranges: { offset: number; length: number }[] = [];
  let expected = 0;
  let end = 0;
  for (const line of lines) {
    if (line.trim() === "" || /^.*: \d+ extents? found$/.test(line)) continue;
    const m = EXTENT_LINE.exec(line);
    if (!m || Number(m[1]) !== expected++) return undefined;
    const start = Number(m[2]) * unit;
    const stop = (Number(m[3]) + 1) * unit;
    if (!Number.isSafeInteger(stop) || stop <= start || start < end) return undefined;
    end = stop;
    const clipped = Math.min(stop, size);
    if (start >= clipped) continue;
    const last = ranges.at(-1);
    if (last && last.offset + last.length === start) last.length = clipped - last.offset;
    else ranges.push({ offset: start, length: clipped - start });
  }
  return ranges;
}

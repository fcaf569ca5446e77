import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { lstat, open, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { run } from "./proc.ts";

const READ_CHUNK = 4 * 1024 * 1024;
/** The page size changes are counted in: what a guest (and the mutators) write in. */
export const PAGE_SIZE = 4096;

/** Every regular file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** The apparent size of the files under `dir` (like `du -sb`, without directory entries). */
export async function apparentSize(dir: string): Promise<number> {
  let total = 0;
  for (const file of await filesUnder(dir)) total += (await lstat(file)).size;
  return total;
}

/**
 * Reads `path` (a file, or every file under a directory) once and discards the bytes, so the
 * timed step that follows starts on a warm page cache. Dropping caches instead would need root
 * and would hurt whatever else shares the machine.
 */
export async function warmCache(path: string): Promise<void> {
  const files = (await lstat(path)).isDirectory() ? await filesUnder(path) : [path];
  for (const file of files) {
    for await (const _chunk of createReadStream(file, { highWaterMark: READ_CHUNK })) {
      // Reading is the point; the bytes are not needed.
    }
  }
}

/**
 * Flushes dirty pages to disk, so write-back left over from the previous step (or from image
 * generation) is not charged to the next tool's timing.
 */
export async function flushWrites(): Promise<void> {
  await run("sync", []);
}

const PRIME_CHUNK = Buffer.alloc(8 * 1024 * 1024);

/**
 * Writes `bytes` of scratch data under `dir` and deletes it, leaving that much memory freed but
 * recently used. On a virtual machine, page-cache memory the guest has not touched lately can
 * cost a host fault per page on first use: writing 2 GiB with dd took 3.5-5.0 s of system time
 * here in that state and 0.5-0.7 s right after a delete. Both tools' steps start this way, so
 * their writes are timed, not the hypervisor's memory state.
 */
export async function primeFreeMemory(dir: string, bytes: number): Promise<void> {
  const path = join(dir, ".prime-scratch");
  const handle = await open(path, "w");
  try {
    for (let done = 0; done < bytes; done += PRIME_CHUNK.length) await handle.write(PRIME_CHUNK);
  } finally {
    await handle.close();
  }
  await rm(path, { force: true });
}

/**
 * Settles the machine before a timed step: `input` read once (warm cache), memory for the step's
 * writes freed but recently used (see {@link primeFreeMemory}), dirty pages synced.
 */
export async function beforeStep(input: string, scratchDir: string, writeBytes: number): Promise<void> {
  await warmCache(input);
  await primeFreeMemory(scratchDir, writeBytes);
  await flushWrites();
}

/** The SHA-256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK }))
    hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** How two equally sized images differ. */
export interface ImageDiff {
  readonly changedPages: number;
  readonly sha256B: string;
}

/**
 * Counts the 4 KiB pages that differ between images `a` and `b` (a short last page counts as a
 * page) and hashes `b` in the same pass. Counting beats trusting the mutator's target: its runs
 * may overlap, and a run may rewrite a page another run already changed.
 */
export async function diffImages(a: string, b: string): Promise<ImageDiff> {
  const [fa, fb] = await Promise.all([open(a, "r"), open(b, "r")]);
  try {
    const [sa, sb] = await Promise.all([fa.stat(), fb.stat()]);
    if (sa.size !== sb.size) throw new Error(`${a} and ${b} differ in size (${sa.size} vs ${sb.size})`);
    const hash = createHash("sha256");
    const bufA = Buffer.allocUnsafe(READ_CHUNK);
    const bufB = Buffer.allocUnsafe(READ_CHUNK);
    let changedPages = 0;
    for (let pos = 0; pos < sa.size; pos += READ_CHUNK) {
      const length = Math.min(READ_CHUNK, sa.size - pos);
      await Promise.all([readFully(fa, bufA, length, pos), readFully(fb, bufB, length, pos)]);
      hash.update(bufB.subarray(0, length));
      for (let p = 0; p < length; p += PAGE_SIZE) {
        const end = Math.min(p + PAGE_SIZE, length);
        if (!bufA.subarray(p, end).equals(bufB.subarray(p, end))) changedPages++;
      }
    }
    return { changedPages, sha256B: hash.digest("hex") };
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

async function readFully(handle: FileHandle, buf: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at ${position + done}`);
    done += bytesRead;
  }
}

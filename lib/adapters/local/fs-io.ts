import { type FileHandle, lstat, open } from "node:fs/promises";
import { IntegrityError } from "../../errors.ts";
import { errnoCode } from "./fs-errors.ts";

/**
 * Small durable-I/O helpers shared by the local adapters. They throw raw `node:fs` errors;
 * callers translate them with `translateFsError` where they know which object was involved.
 */

/**
 * Creates `file` (failing with EEXIST if it exists), writes `data` with permission `mode`
 * (before the umask) and flushes it to stable storage before returning.
 */
export async function writeDurably(file: string, data: Uint8Array, mode = 0o666): Promise<void> {
  const handle = await open(file, "wx", mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a file written elsewhere (another thread, another descriptor) to stable storage. */
export async function syncFile(file: string): Promise<void> {
  const handle = await open(file, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Flushes a directory's entries, so a new name survives a power loss. Best effort where the
 * platform cannot open or sync a directory (Windows, some network filesystems): the file's data
 * is already durable there and nothing better is available.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (err) {
    const code = errnoCode(err);
    if (code !== "EISDIR" && code !== "EINVAL" && code !== "EPERM" && code !== "EBADF") throw err;
  } finally {
    await handle?.close();
  }
}

/** True when `file` exists and is a directory (not following a final symlink). */
export async function isDirectory(file: string): Promise<boolean> {
  return lstat(file).then(
    (info) => info.isDirectory(),
    () => false,
  );
}

/**
 * Reads exactly `length` bytes at `offset` from `handle`. Running out of bytes is an
 * `IntegrityError` naming `key`: for immutable objects a short file is corruption, never a short
 * read to hand back.
 */
export async function readExactly(
  handle: FileHandle,
  key: string,
  offset: number,
  length: number,
): Promise<Buffer> {
  // Every byte is overwritten below (or the read fails), so zero-filling would be wasted work.
  const buffer = Buffer.allocUnsafeSlow(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
    if (bytesRead === 0) {
      throw new IntegrityError(`get object ${key}: object ended after ${offset + filled} bytes`);
    }
    filled += bytesRead;
  }
  return buffer;
}

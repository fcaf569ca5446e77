import { DiskFormatError } from "../errors.ts";
import type { FileEntry, FileSystemReader } from "./fs/file-system.ts";

/** Directory depth a walk follows: far past real trees, short of a corrupt loop's forever. */
const MAX_DEPTH = 1024;

/**
 * Every entry under `root` (itself first), depth first in name order. A directory met again
 * under itself (a corrupt file system's loop) or nested beyond {@link MAX_DEPTH} is a
 * DiskFormatError, not a hang.
 */
export async function* walk(
  fs: FileSystemReader,
  root: string,
  top?: FileEntry,
): AsyncGenerator<{ path: string; entry: FileEntry }> {
  const entry = top ?? (await fs.stat(root));
  yield { path: root, entry };
  if (entry.type === "directory") yield* below(fs, root, entry, []);
}

async function* below(
  fs: FileSystemReader,
  dir: string,
  entry: FileEntry,
  ancestors: number[],
): AsyncGenerator<{ path: string; entry: FileEntry }> {
  if (ancestors.length >= MAX_DEPTH)
    throw new DiskFormatError(`${dir}: directories nest deeper than ${MAX_DEPTH}`);
  if (entry.inode !== undefined && ancestors.includes(entry.inode)) {
    throw new DiskFormatError(`${dir}: directory inode ${entry.inode} contains itself`);
  }
  const chain = entry.inode !== undefined ? [...ancestors, entry.inode] : [...ancestors, -1];
  for (const child of await fs.list(dir)) {
    const path = dir === "/" ? `/${child.name}` : `${dir}/${child.name}`;
    yield { path, entry: child };
    if (child.type === "directory") yield* below(fs, path, child, chain);
  }
}

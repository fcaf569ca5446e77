import {
  chmod,
  type FileHandle,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  rename,
  rm,
  symlink,
  utimes,
} from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { AlreadyExistsError } from "../errors.ts";
import { type FileEntry, type FileSystemReader, normalizeFsPath } from "./fs/file-system.ts";
import { walk } from "./walk.ts";

/** Bytes read from a file system per step: a few blocks of the point. */
const STEP = 4 * 1024 * 1024;
/** Runs of zeros this long, aligned, are left as holes: the file systems' block size or more. */
const HOLE_GRAIN = 4096;
const ZEROS = Buffer.alloc(HOLE_GRAIN);
const STEP_ZEROS = Buffer.alloc(STEP);

/** Options of {@link extract}. */
export interface ExtractOptions {
  /** Replace an existing destination. */
  readonly force?: boolean;
}

/** What an extraction wrote. */
export interface ExtractResult {
  readonly files: number;
  readonly directories: number;
  readonly symlinks: number;
  readonly hardLinks: number;
  /** Bytes of file content (holes included, as the files' sizes add up). */
  readonly bytes: number;
}

/**
 * Copies `path` of `fs` (a file, a symlink, or a directory with everything under it) to `dest`
 * on this machine, keeping modes, modification times, symlinks as symlinks, hard links within the
 * tree as hard links, and holes as holes (runs of zeros are not written). Everything is written
 * into a fresh sibling of `dest` first and renamed into place at the end, so a failure leaves
 * nothing half-written; an existing `dest` is refused unless `force`.
 */
export async function extract(
  fs: FileSystemReader,
  path: string,
  dest: string,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  const root = normalizeFsPath(path);
  const top = await fs.stat(root);
  const existing = await lstat(dest).catch(() => undefined);
  if (existing && !options.force)
    throw new AlreadyExistsError(`${dest} already exists (pass --force to replace it)`);
  const staging = join(dirname(dest), `.${basename(dest)}.blockvault-${process.pid}-${Date.now()}`);
  const result = { files: 0, directories: 0, symlinks: 0, hardLinks: 0, bytes: 0 };
  try {
    await writeTree(fs, root, top, staging, result);
    // The old destination moves aside first, so at every moment dest is whole (old or new).
    const aside = `${staging}.old`;
    if (existing) await rename(dest, aside);
    await rename(staging, dest);
    if (existing) await rm(aside, { recursive: true, force: true });
    return result;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

type Counts = { files: number; directories: number; symlinks: number; hardLinks: number; bytes: number };

async function writeTree(
  fs: FileSystemReader,
  root: string,
  top: FileEntry,
  staging: string,
  counts: Counts,
) {
  const linked = new Map<number, string>();
  const directories: { at: string; entry: FileEntry }[] = [];
  for await (const { path, entry } of walk(fs, root, top)) {
    const at = path === root ? staging : join(staging, path.slice(root === "/" ? 1 : root.length + 1));
    if (entry.type === "directory") {
      await mkdir(at, { mode: 0o700 });
      directories.push({ at, entry });
      counts.directories++;
    } else if (entry.type === "symlink") {
      await symlink(await fs.readlink(path), at);
      await lutimes(at, entry.mtime, entry.mtime).catch(() => undefined);
      counts.symlinks++;
    } else if (entry.type === "file") {
      const first = entry.inode !== undefined && (entry.links ?? 1) > 1 ? linked.get(entry.inode) : undefined;
      if (first) {
        await link(first, at);
        counts.hardLinks++;
        continue;
      }
      counts.bytes += await writeFile(fs, path, entry, at);
      if (entry.inode !== undefined && (entry.links ?? 1) > 1) linked.set(entry.inode, at);
      counts.files++;
    }
  }
  // Deepest first, after their contents: writing into a directory changes its mtime.
  for (const { at, entry } of directories.reverse()) {
    await utimes(at, entry.mtime, entry.mtime);
    await chmod(at, entry.mode & 0o7777);
  }
}

/** Writes one regular file, skipping runs of zeros so holes stay holes. */
async function writeFile(fs: FileSystemReader, path: string, entry: FileEntry, at: string): Promise<number> {
  const source = await fs.open(path);
  const out = await open(at, "wx", 0o600);
  try {
    for (let position = 0; position < source.size; position += STEP) {
      const bytes = await source.read(position, Math.min(STEP, source.size - position));
      await writeData(out, bytes, position);
    }
    await out.truncate(source.size);
    await out.chmod(entry.mode & 0o7777);
    await out.close();
    await utimes(at, entry.mtime, entry.mtime);
    return source.size;
  } catch (err) {
    await out.close().catch(() => undefined);
    throw err;
  } finally {
    await source.close();
  }
}

/** Writes the pieces of `bytes` that are not all zeros: what is left out stays a hole. */
async function writeData(out: FileHandle, bytes: Buffer, position: number): Promise<void> {
  // One comparison settles the common case, a hole, before the fine scan.
  if (bytes.equals(STEP_ZEROS.subarray(0, bytes.length))) return;
  let start = -1;
  for (let at = 0; at < bytes.length + HOLE_GRAIN; at += HOLE_GRAIN) {
    const piece = bytes.subarray(at, at + HOLE_GRAIN);
    const data = piece.length > 0 && !piece.equals(ZEROS.subarray(0, piece.length));
    if (data && start < 0) start = at;
    if (!data && start >= 0) {
      const end = Math.min(at, bytes.length);
      await out.write(bytes, start, end - start, position + start);
      start = -1;
    }
  }
}

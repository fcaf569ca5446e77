import { type Ext2FileHandle, type Ext2Fs, type Ext2Stats, mount, umount } from "ext2fs";
import { DiskFormatError, NotFoundError, ValidationError } from "../../errors.ts";
import type { ByteSource } from "../byte-source.ts";
import {
  type FileEntry,
  type FileSystemReader,
  normalizeFsPath,
  type OpenFile,
  typeOfMode,
} from "./file-system.ts";
import { OverlayDisk } from "./overlay-disk.ts";

const SUPERBLOCK = 1024;
const EXT_MAGIC = 0xef53;
const COMPAT_HAS_JOURNAL = 0x4;
const INCOMPAT_EXTENTS = 0x40;
const INCOMPAT_64BIT = 0x80;
const INCOMPAT_FLEX_BG = 0x200;

/** `ext2`, `ext3` or `ext4` when `superblock` (the 1024 bytes at byte 1024) is an ext one. */
export function extKind(superblock: Buffer): string | undefined {
  if (superblock.length < 1024 || superblock.readUInt16LE(56) !== EXT_MAGIC) return undefined;
  const compat = superblock.readUInt32LE(92);
  const incompat = superblock.readUInt32LE(96);
  if (incompat & (INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_FLEX_BG)) return "ext4";
  return compat & COMPAT_HAS_JOURNAL ? "ext3" : "ext2";
}

/** Where the superblock of an ext file system lies. */
export const EXT_SUPERBLOCK_OFFSET = SUPERBLOCK;

/**
 * Mounts the ext2/3/4 file system on `source` with libext2fs compiled to WebAssembly (the
 * `ext2fs` package), reading through an overlay so nothing is written back.
 */
export async function openExt(source: ByteSource, kind: string): Promise<FileSystemReader> {
  const disk = new OverlayDisk(source);
  const fs = await mount(disk, 0).catch((err: unknown) => {
    throw new DiskFormatError(`${kind} file system of ${source.name} cannot be opened: ${reason(err)}`, {
      cause: err,
    });
  });
  return new ExtReader(fs, kind, source.name);
}

class ExtReader implements FileSystemReader {
  readonly #fs: Ext2Fs;
  readonly #where: string;
  readonly kind: string;

  constructor(fs: Ext2Fs, kind: string, sourceName: string) {
    this.#fs = fs;
    this.kind = kind;
    this.#where = `${kind} file system of ${sourceName}`;
  }

  async list(path: string): Promise<FileEntry[]> {
    const dir = normalizeFsPath(path);
    const names = await this.#call("list", dir, () => this.#fs.promises.readdir(dir, { encoding: "buffer" }));
    const entries: FileEntry[] = [];
    for (const raw of names) {
      const name = raw.toString("utf8");
      if (name === "." || name === "..") continue;
      entries.push(await this.stat(dir === "/" ? `/${name}` : `${dir}/${name}`));
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async stat(path: string): Promise<FileEntry> {
    const at = normalizeFsPath(path);
    const s = await this.#call("stat", at, () => this.#fs.promises.lstat(at));
    return entryOf(at === "/" ? "/" : at.slice(at.lastIndexOf("/") + 1), s);
  }

  async readlink(path: string): Promise<string> {
    const at = normalizeFsPath(path);
    const target = await this.#call("readlink", at, () =>
      this.#fs.promises.readlink(at, { encoding: "buffer" }),
    );
    return target.toString("utf8");
  }

  async open(path: string): Promise<OpenFile> {
    const at = normalizeFsPath(path);
    const entry = await this.stat(at);
    if (entry.type !== "file")
      throw new ValidationError(`${at} in the ${this.#where} is a ${entry.type}, not a file`);
    const p = this.#fs.promises;
    const handle = await this.#call("open", at, () => p.open(at, "r"));
    const file = new ExtFile(handle, (op, run) => this.#call(op, at, run));
    return {
      size: entry.size,
      read: (position, length) => file.read(position, length),
      close: () => this.#call("close", at, () => handle.close()),
    };
  }

  async close(): Promise<void> {
    await umount(this.#fs).catch(() => undefined);
  }

  /** Runs a library call, turning its errno into the product's errors naming the path. */
  async #call<T>(op: string, path: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "ENOENT" || code === "ENOTDIR") {
        throw new NotFoundError(`${path} does not exist in the ${this.#where}`, { cause: err });
      }
      throw new DiskFormatError(`${this.#where}: ${op} ${path} failed: ${reason(err)}`, { cause: err });
    }
  }
}

/**
 * The binding passes a read's position as a 32-bit integer, so a position past 2 GiB would wrap;
 * past it, reads continue from the file's own 64-bit offset (position -1) instead, skipping
 * forward by reading when a caller jumps. Sequential reads, what extraction does, never skip.
 */
const MAX_EXPLICIT_POSITION = 2 ** 31 - 1;
const SKIP_STEP = 4 * 1024 * 1024;

class ExtFile {
  readonly #handle: Ext2FileHandle;
  readonly #call: <T>(op: string, run: () => Promise<T>) => Promise<T>;
  /** The file offset the library will read from next. */
  #cursor = 0;

  constructor(handle: Ext2FileHandle, call: <T>(op: string, run: () => Promise<T>) => Promise<T>) {
    this.#handle = handle;
    this.#call = call;
  }

  async read(position: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    if (length === 0) return buffer;
    let done = 0;
    if (position !== this.#cursor && position <= MAX_EXPLICIT_POSITION) {
      done = await this.#readAt(buffer, position);
    } else if (position !== this.#cursor) {
      await this.#skipTo(position);
    }
    while (done < length) {
      const n = await this.#readAt(buffer.subarray(done), -1);
      if (n === 0) break;
      done += n;
    }
    return done === length ? buffer : buffer.subarray(0, done);
  }

  /** Moves the library's offset to `position` past 2 GiB: from 2 GiB (or from here) by reading. */
  async #skipTo(position: number): Promise<void> {
    if (this.#cursor > position || this.#cursor < MAX_EXPLICIT_POSITION) {
      await this.#readAt(Buffer.alloc(1), MAX_EXPLICIT_POSITION - 1);
    }
    const scratch = Buffer.alloc(SKIP_STEP);
    while (this.#cursor < position) {
      const n = await this.#readAt(scratch.subarray(0, Math.min(SKIP_STEP, position - this.#cursor)), -1);
      if (n === 0) return;
    }
  }

  async #readAt(into: Buffer, position: number): Promise<number> {
    const { bytesRead } = await this.#call("read", () => this.#handle.read(into, 0, into.length, position));
    this.#cursor = (position === -1 ? this.#cursor : position) + bytesRead;
    return bytesRead;
  }
}

function entryOf(name: string, s: Ext2Stats): FileEntry {
  return {
    name,
    type: typeOfMode(s.mode),
    size: s.size,
    mode: s.mode,
    mtime: s.mtime,
    inode: s.ino,
    links: s.nlink,
  };
}

/** The library's errno code, or its message's first line. */
function reason(err: unknown): string {
  const e = err as { code?: string; errno?: number; message?: string };
  // libext2fs's own errors (EXT2_ET_*) have no errno name: their number is what e2fsprogs prints.
  if (e.code === "UNKNOWN" && e.errno !== undefined) return `libext2fs error ${e.errno}`;
  return e.code ?? String(e.message ?? err).split("\n")[0]!;
}

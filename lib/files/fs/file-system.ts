import { posix } from "node:path";
import { ValidationError } from "../../errors.ts";

/** What a directory entry is. */
export const EntryType = {
  File: "file",
  Directory: "directory",
  Symlink: "symlink",
  Other: "other",
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/** One file, directory or link as `ls -l` would show it. */
export interface FileEntry {
  readonly name: string;
  readonly type: EntryType;
  readonly size: number;
  /** The permission bits and file type bits, as `st_mode`. */
  readonly mode: number;
  readonly mtime: Date;
  /** The inode number, where the file system has one: hard links share it. */
  readonly inode?: number;
  readonly links?: number;
}

/** An opened regular file: random reads of its bytes. */
export interface OpenFile {
  readonly size: number;
  read(position: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** A file system inside a recovery point, read-only. Paths are absolute, `/`-separated. */
export interface FileSystemReader {
  /** `ext2`, `ext3`, `ext4`, `vfat`. */
  readonly kind: string;
  /** The entries of directory `path`, without `.` and `..`, in name order. */
  list(path: string): Promise<FileEntry[]>;
  /** The entry at `path`, not following a final symlink. */
  stat(path: string): Promise<FileEntry>;
  /** A symlink's target. */
  readlink(path: string): Promise<string>;
  open(path: string): Promise<OpenFile>;
  close(): Promise<void>;
}

/**
 * `path` as an absolute path inside a file system: `/`-separated, `.` and `..` resolved without
 * leaving the root, no NUL bytes.
 */
export function normalizeFsPath(path: string): string {
  if (path.includes("\0")) throw new ValidationError(`path ${JSON.stringify(path)} contains a NUL byte`);
  return posix.resolve("/", path.replaceAll("\\", "/"));
}

/** The type of an entry from the file type bits of its `st_mode`. */
export function typeOfMode(mode: number): EntryType {
  switch (mode & 0o170000) {
    case 0o100000:
      return EntryType.File;
    case 0o040000:
      return EntryType.Directory;
    case 0o120000:
      return EntryType.Symlink;
    default:
      return EntryType.Other;
  }
}

import { DiskFormatError } from "../../errors.ts";
import { EntryType, type FileEntry } from "./file-system.ts";

/** A FAT directory entry, with what reading its file needs. */
export interface FatDirEntry extends FileEntry {
  /** The 8.3 name, as `NAME.EXT`. */
  readonly shortName: string;
  readonly firstCluster: number;
}

const ENTRY = 32;
const ATTR_LONG_NAME = 0x0f;
const ATTR_VOLUME_ID = 0x08;
const ATTR_DIRECTORY = 0x10;
/** NTRes bits Windows NT and Linux set for a short name typed in lower case. */
const LOWER_BASE = 0x08;
const LOWER_EXT = 0x10;

/**
 * The entries of a directory's bytes: long names assembled from their slots and checked against
 * the short entry's checksum (a mismatch falls back to the short name, as Windows does), deleted
 * entries and the volume label left out, `.` and `..` too.
 */
export function parseDirectory(bytes: Buffer, where: string): FatDirEntry[] {
  const entries: FatDirEntry[] = [];
  let slots: { sum: number; parts: string[] } | undefined;
  for (let at = 0; at + ENTRY <= bytes.length; at += ENTRY) {
    const e = bytes.subarray(at, at + ENTRY);
    if (e[0] === 0x00) break;
    if (e[0] === 0xe5) {
      slots = undefined;
      continue;
    }
    const attr = e[11]!;
    if ((attr & 0x3f) === ATTR_LONG_NAME) {
      const part = ucs2(e, 1, 10) + ucs2(e, 14, 12) + ucs2(e, 28, 4);
      if (e[0]! & 0x40) slots = { sum: e[13]!, parts: [] };
      slots?.parts.unshift(part);
      continue;
    }
    const short = shortNameOf(e);
    const longName = slots && slots.sum === checksum(e) ? slots.parts.join("").split("\0")[0] : undefined;
    slots = undefined;
    if (attr & ATTR_VOLUME_ID || short.name === "." || short.name === "..") continue;
    const isDir = (attr & ATTR_DIRECTORY) !== 0;
    const firstCluster = (e.readUInt16LE(20) << 16) | e.readUInt16LE(26);
    if (firstCluster === 1) throw new DiskFormatError(`${where}: ${short.name} starts at cluster 1`);
    entries.push({
      name: longName || short.name,
      shortName: short.raw,
      type: isDir ? EntryType.Directory : EntryType.File,
      size: isDir ? 0 : e.readUInt32LE(28),
      mode: isDir ? 0o40755 : 0o100644,
      mtime: fatTime(e.readUInt16LE(24), e.readUInt16LE(22)),
      firstCluster,
    });
  }
  return entries;
}

/** The short name as shown (lowercase flags applied) and as stored. */
function shortNameOf(e: Buffer): { name: string; raw: string } {
  const first = e[0] === 0x05 ? "\u00e5" : String.fromCharCode(e[0]!);
  let base = (first + e.toString("latin1", 1, 8)).trimEnd();
  let ext = e.toString("latin1", 8, 11).trimEnd();
  const raw = ext ? `${base}.${ext}` : base;
  if (e[12]! & LOWER_BASE) base = base.toLowerCase();
  if (e[12]! & LOWER_EXT) ext = ext.toLowerCase();
  return { name: ext ? `${base}.${ext}` : base, raw };
}

function ucs2(e: Buffer, offset: number, length: number): string {
  return e.toString("utf16le", offset, offset + length).replace(/\uffff/g, "");
}

/** The checksum of a short name that its long-name slots carry. */
function checksum(e: Buffer): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + e[i]!) & 0xff;
  return sum;
}

/** A FAT date and time (local time as the writer saw it; taken as UTC). */
function fatTime(date: number, time: number): Date {
  if (date === 0) return new Date(0);
  const year = 1980 + (date >> 9);
  const month = ((date >> 5) & 0xf) - 1;
  return new Date(Date.UTC(year, month, date & 0x1f, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2));
}

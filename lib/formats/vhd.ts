import { randomBytes } from "node:crypto";
import { ValidationError } from "../errors.ts";

/** Size of a VHD footer; a fixed VHD is the raw disk followed by exactly this many bytes. */
export const VHD_FOOTER_SIZE = 512;

/** The footer's first eight bytes, in ASCII. */
export const VHD_COOKIE = "conectix";

/** VHD disk types (footer offset 60). Only `Fixed` can be read as a plain raw disk. */
export const VhdDiskType = { Fixed: 2, Dynamic: 3, Differencing: 4 } as const;
export type VhdDiskType = (typeof VhdDiskType)[keyof typeof VhdDiskType];

/** Byte offsets of the footer fields (all integers big-endian). */
const Off = {
  cookie: 0,
  features: 8,
  version: 12,
  dataOffset: 16,
  timestamp: 24,
  creatorApp: 28,
  creatorVersion: 32,
  creatorHostOs: 36,
  originalSize: 40,
  currentSize: 48,
  geometry: 56,
  diskType: 60,
  checksum: 64,
  uniqueId: 68,
  savedState: 84,
} as const;

/** VHD timestamps count seconds from 2000-01-01T00:00:00Z, not from the Unix epoch. */
const VHD_EPOCH_MS = Date.UTC(2000, 0, 1);

/** The footer fields blockvault cares about. */
export interface VhdFooter {
  readonly diskType: number;
  /** Where a dynamic or differencing disk's header is; all ones for a fixed disk. */
  readonly dataOffset: bigint;
  /** Logical disk size in bytes (footer "current size"). */
  readonly currentSize: bigint;
  readonly originalSize: bigint;
  /** Checksum stored in the footer. */
  readonly checksum: number;
  /** Checksum recomputed over the footer bytes; differs from `checksum` when corrupt. */
  readonly computedChecksum: number;
  readonly uniqueId: Buffer;
}

/** True when `footer` (the last 512 bytes of a file) starts with the VHD cookie. */
export function hasVhdCookie(footer: Uint8Array): boolean {
  return (
    footer.length >= VHD_FOOTER_SIZE &&
    Buffer.from(footer.buffer, footer.byteOffset, 8).toString("latin1") === VHD_COOKIE
  );
}

/**
 * The VHD checksum: ones' complement of the byte sum of the footer, with the checksum field
 * itself counted as zero (so the stored value does not feed into its own computation).
 */
export function vhdChecksum(footer: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < VHD_FOOTER_SIZE; i++) {
    if (i >= Off.checksum && i < Off.checksum + 4) continue;
    sum += footer[i]!;
  }
  return ~sum >>> 0;
}

/** Decodes a footer; the caller has already checked the cookie. Does not validate anything. */
export function parseVhdFooter(footer: Buffer): VhdFooter {
  return {
    diskType: footer.readUInt32BE(Off.diskType),
    dataOffset: footer.readBigUInt64BE(Off.dataOffset),
    currentSize: footer.readBigUInt64BE(Off.currentSize),
    originalSize: footer.readBigUInt64BE(Off.originalSize),
    checksum: footer.readUInt32BE(Off.checksum),
    computedChecksum: vhdChecksum(footer),
    uniqueId: Buffer.from(footer.subarray(Off.uniqueId, Off.uniqueId + 16)),
  };
}

/**
 * CHS geometry as the VHD specification derives it from the size. Hyper-V and Azure ignore it
 * for fixed disks, but some tools (older Virtual PC, qemu's `vpc` driver) size the disk from it,
 * so it must be the value they expect.
 */
export function vhdGeometry(size: number): { cylinders: number; heads: number; sectorsPerTrack: number } {
  let totalSectors = Math.floor(size / 512);
  totalSectors = Math.min(totalSectors, 65535 * 16 * 255);
  let sectorsPerTrack: number;
  let heads: number;
  let cylTimesHeads: number;
  if (totalSectors >= 65535 * 16 * 63) {
    sectorsPerTrack = 255;
    heads = 16;
    cylTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
  } else {
    sectorsPerTrack = 17;
    cylTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
    heads = Math.max(4, Math.floor((cylTimesHeads + 1023) / 1024));
    if (cylTimesHeads >= heads * 1024 || heads > 16) {
      sectorsPerTrack = 31;
      heads = 16;
      cylTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
    }
    if (cylTimesHeads >= heads * 1024) {
      sectorsPerTrack = 63;
      heads = 16;
      cylTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
    }
  }
  return { cylinders: Math.floor(cylTimesHeads / heads), heads, sectorsPerTrack };
}

/**
 * Builds a valid footer for a fixed VHD whose disk is `size` bytes: append it to the raw disk
 * bytes to get a VHD that Azure, Hyper-V and qemu accept.
 *
 * @param size - logical disk size; must be a multiple of 512 (Azure further wants whole MiB,
 *   which is the caller's business since padding changes the disk).
 * @param uniqueId - 16-byte disk identifier; random when omitted, pass one for reproducible output.
 * @param timestamp - creation time recorded in the footer; now when omitted.
 * @throws ValidationError when the size or the identifier is malformed.
 */
export function buildVhdFooter(size: number, uniqueId?: Buffer, timestamp: Date = new Date()): Buffer {
  if (!Number.isSafeInteger(size) || size < 0 || size % 512 !== 0) {
    throw new ValidationError(`VHD disk size must be a non-negative multiple of 512 bytes, got ${size}`);
  }
  const id = uniqueId ?? randomBytes(16);
  if (id.length !== 16) throw new ValidationError(`VHD unique id must be 16 bytes, got ${id.length}`);
  const f = Buffer.alloc(VHD_FOOTER_SIZE);
  f.write(VHD_COOKIE, Off.cookie, "latin1");
  // Bit 1 ("reserved") must always be set per the specification.
  f.writeUInt32BE(0x00000002, Off.features);
  f.writeUInt32BE(0x00010000, Off.version);
  // Fixed disks have no dynamic header: the data offset is all ones.
  f.writeBigUInt64BE(0xffffffffffffffffn, Off.dataOffset);
  const seconds = Math.max(0, Math.floor((timestamp.getTime() - VHD_EPOCH_MS) / 1000));
  f.writeUInt32BE(seconds >>> 0, Off.timestamp);
  // Readers that size a VHD by its CHS geometry (Virtual PC's way; qemu does unless told
  // otherwise) would cut off the end of most disks, whose size no geometry matches. The creator
  // "qem2" is the marker such readers take to mean "current size is the size" (qemu writes it
  // itself for that purpose); Hyper-V and Azure use the current size whatever the creator.
  f.write("qem2", Off.creatorApp, "latin1");
  f.writeUInt32BE(0x00010000, Off.creatorVersion);
  f.write("Wi2k", Off.creatorHostOs, "latin1");
  f.writeBigUInt64BE(BigInt(size), Off.originalSize);
  f.writeBigUInt64BE(BigInt(size), Off.currentSize);
  const g = vhdGeometry(size);
  f.writeUInt16BE(g.cylinders, Off.geometry);
  f.writeUInt8(g.heads, Off.geometry + 2);
  f.writeUInt8(g.sectorsPerTrack, Off.geometry + 3);
  f.writeUInt32BE(VhdDiskType.Fixed, Off.diskType);
  id.copy(f, Off.uniqueId);
  f.writeUInt8(0, Off.savedState);
  f.writeUInt32BE(vhdChecksum(f), Off.checksum);
  return f;
}

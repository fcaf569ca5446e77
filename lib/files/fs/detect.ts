import { DiskFormatError } from "../../errors.ts";
import { type ByteSource, readUpTo } from "../byte-source.ts";
import { EXT_SUPERBLOCK_OFFSET, extKind, openExt } from "./ext.ts";
import { fatKind, openFat } from "./fat.ts";
import type { FileSystemReader } from "./file-system.ts";

/** File systems this build browses; others are named in listings and served by `export --nbd`. */
export const READABLE_KINDS = ["ext2", "ext3", "ext4", "vfat"] as const;

const PROBE_BYTES = 8192;

/**
 * What `source` holds, by its signatures: a readable kind (`ext4`, `vfat` …), one only named
 * (`xfs`, `ntfs`, `swap`, `LVM2_member`, `btrfs`), or undefined when nothing is recognised.
 */
export async function detectFileSystem(source: ByteSource): Promise<string | undefined> {
  const head = await readUpTo(source, 0, PROBE_BYTES);
  const text = (offset: number, length: number) => head.toString("latin1", offset, offset + length);
  const ext = extKind(head.subarray(EXT_SUPERBLOCK_OFFSET, EXT_SUPERBLOCK_OFFSET + 1024));
  if (ext) return ext;
  if (text(3, 8) === "NTFS    ") return "ntfs";
  const fat = fatKind(head.subarray(0, 512));
  if (fat) return fat;
  if (text(0, 4) === "XFSB") return "xfs";
  if (text(4086, 10) === "SWAPSPACE2") return "swap";
  if ([512, 1024, 1536, 2048].some((s) => text(s, 8) === "LABELONE")) return "LVM2_member";
  if (head.length >= 0x10048 || source.size > 0x10048) {
    const btrfs = await readUpTo(source, 0x10040, 8);
    if (btrfs.toString("latin1") === "_BHRfS_M") return "btrfs";
  }
  return undefined;
}

/**
 * Opens the file system of kind `kind` on `source`. A kind this build cannot read is a
 * DiskFormatError that says how to reach it instead.
 */
export async function openFileSystem(
  source: ByteSource,
  kind: string | undefined,
): Promise<FileSystemReader> {
  if (kind === "ext2" || kind === "ext3" || kind === "ext4") return openExt(source, kind);
  if (kind === "vfat") return openFat(source, await source.read(0, 512));
  const what = kind ? `a ${kind} volume` : "no file system blockvault recognises";
  throw new DiskFormatError(
    `${source.name} holds ${what}; files can be read from ${READABLE_KINDS.join(", ")} (attach any other with blockvault export --nbd)`,
  );
}

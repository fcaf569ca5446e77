import { type ByteSource, readUpTo } from "../byte-source.ts";
import { gptPartitions } from "./gpt.ts";
import { GPT_PROTECTIVE, hasBootSignature, mbrPartitions } from "./mbr.ts";
import { PartitionScheme, type PartitionTable, SECTOR } from "./partition.ts";

const GPT_SIGNATURE = Buffer.from("EFI PART", "latin1");

/**
 * The partition table of `disk`: GPT when the MBR is protective or LBA 1 carries a GPT
 * signature, MBR when the first sector has a boot signature and entries, and none otherwise (a
 * file system or a volume on the whole disk). A FAT boot sector also ends with the boot signature;
 * it is told apart by its entries, which then do not describe partitions inside the disk.
 */
export async function readPartitionTable(disk: ByteSource): Promise<PartitionTable> {
  const head = await readUpTo(disk, 0, 2 * SECTOR);
  if (head.length < 2 * SECTOR) return { scheme: "none", partitions: [] };
  const mbr = head.subarray(0, SECTOR);
  const gptSigned = head.subarray(SECTOR, SECTOR + 8).equals(GPT_SIGNATURE);
  if (hasBootSignature(mbr) && protective(mbr)) {
    return { scheme: PartitionScheme.Gpt, partitions: await gptPartitions(disk) };
  }
  if (gptSigned) return { scheme: PartitionScheme.Gpt, partitions: await gptPartitions(disk) };
  if (!hasBootSignature(mbr) || looksLikeBootSector(mbr)) return { scheme: "none", partitions: [] };
  const partitions = await mbrPartitions(disk, mbr);
  return { scheme: partitions.length > 0 ? PartitionScheme.Mbr : "none", partitions };
}

/** True when one of the MBR's four entries is GPT's protective one. */
function protective(mbr: Buffer): boolean {
  for (let slot = 0; slot < 4; slot++) if (mbr[446 + slot * 16 + 4] === GPT_PROTECTIVE) return true;
  return false;
}

/**
 * True for a FAT or NTFS boot sector, which carries the boot signature without being a
 * partition table: it names its file system where a partitioned disk's boot code runs.
 */
function looksLikeBootSector(sector: Buffer): boolean {
  const at = (offset: number, text: string) =>
    sector.toString("latin1", offset, offset + text.length) === text;
  return at(3, "NTFS    ") || at(54, "FAT1") || at(82, "FAT32   ");
}

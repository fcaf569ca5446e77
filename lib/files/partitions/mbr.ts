import MBR from "mbr";
import { DiskFormatError } from "../../errors.ts";
import type { ByteSource } from "../byte-source.ts";
import { type Partition, PartitionScheme, SECTOR } from "./partition.ts";

/** Logical partitions a chain may hold before it is taken for a loop. */
const MAX_LOGICAL = 128;
const BOOT_SIGNATURE = 0xaa55;
/** The protective entry a GPT disk carries in its MBR. */
export const GPT_PROTECTIVE = 0xee;

/** True when `sector` (the disk's first) ends with the MBR boot signature. */
export function hasBootSignature(sector: Buffer): boolean {
  return sector.length >= SECTOR && sector.readUInt16LE(510) === BOOT_SIGNATURE;
}

/** The four entries of a boot record, parsed by the `mbr` library. */
function entriesOf(sector: Buffer, where: string) {
  try {
    return MBR.parse(sector).partitions;
  } catch (err) {
    throw new DiskFormatError(`${where}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The partitions of an MBR disk whose first sector is `sector`: the primaries in their slots
 * and, inside an extended partition, the logical ones its chain of extended boot records lists.
 * A chain that loops, leaves the extended partition or lacks a signature is a DiskFormatError
 * naming the record.
 */
export async function mbrPartitions(disk: ByteSource, sector: Buffer): Promise<Partition[]> {
  const found: Partition[] = [];
  let extended: { offset: number; size: number } | undefined;
  for (const [slot, e] of entriesOf(sector, `MBR of ${disk.name}`).entries()) {
    if (e.type === 0 || e.sectors === 0) continue;
    const part = partitionOf(disk, `MBR entry ${slot + 1} of ${disk.name}`, slot + 1, 0, e);
    if (e.extended) {
      if (extended) throw new DiskFormatError(`MBR of ${disk.name}: more than one extended partition`);
      extended = { offset: part.offset, size: part.size };
      continue;
    }
    found.push(part);
  }
  if (extended) found.push(...(await logicalPartitions(disk, extended)));
  return found;
}

/** The logical partitions of the extended partition at `extended`, following its EBR chain. */
async function logicalPartitions(
  disk: ByteSource,
  extended: { offset: number; size: number },
): Promise<Partition[]> {
  const found: Partition[] = [];
  const seen = new Set<number>();
  let ebr = extended.offset;
  while (true) {
    const where = `extended boot record at byte ${ebr} of ${disk.name}`;
    if (seen.has(ebr) || found.length >= MAX_LOGICAL) throw new DiskFormatError(`${where}: the chain loops`);
    seen.add(ebr);
    const sector = await disk.read(ebr, SECTOR);
    if (!hasBootSignature(sector)) throw new DiskFormatError(`${where}: no boot signature`);
    const [logical, next] = entriesOf(sector, where);
    if (logical && logical.type !== 0 && logical.sectors > 0) {
      const part = partitionOf(disk, where, 5 + found.length, ebr, logical);
      if (part.offset + part.size > extended.offset + extended.size) {
        throw new DiskFormatError(`${where}: its partition runs past the extended partition`);
      }
      found.push(part);
    }
    if (!next || next.type === 0 || next.sectors === 0) return found;
    ebr = extended.offset + next.firstLBA * SECTOR;
    if (ebr >= extended.offset + extended.size) {
      throw new DiskFormatError(`${where}: the next record lies outside the extended partition`);
    }
  }
}

function partitionOf(
  disk: ByteSource,
  where: string,
  number: number,
  base: number,
  e: { type: number; firstLBA: number; sectors: number },
): Partition {
  const offset = base + e.firstLBA * SECTOR;
  const size = e.sectors * SECTOR;
  if (e.firstLBA === 0 || offset + size > disk.size) {
    throw new DiskFormatError(
      `${where}: partition ${number} (sectors ${e.firstLBA}+${e.sectors}) lies outside the disk`,
    );
  }
  return {
    number,
    scheme: PartitionScheme.Mbr,
    offset,
    size,
    type: `0x${e.type.toString(16).padStart(2, "0")}`,
  };
}

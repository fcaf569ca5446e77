import { crc32 } from "node:zlib";
import GPT from "gpt";
import { DiskFormatError } from "../../errors.ts";
import type { ByteSource } from "../byte-source.ts";
import { type Partition, PartitionScheme, SECTOR } from "./partition.ts";

/** Entries a table may declare: four times the usual 128, and far below what memory allows. */
const MAX_ENTRIES = 512;
const UNUSED = "00000000-0000-0000-0000-000000000000";

/**
 * The partitions of a GPT disk, parsed by the `gpt` library; the CRC32s are computed here over
 * exactly the bytes the specification names (the header's own size, the entries' count times
 * their size), which the library rounds up. The primary header (LBA 1) and its entry array are checked
 * against their CRC32s; when either fails, the backup at the disk's last LBA is used instead. When
 * both fail, a DiskFormatError names the structure and the check that failed.
 */
export async function gptPartitions(disk: ByteSource): Promise<Partition[]> {
  const lastLba = Math.floor(disk.size / SECTOR) - 1;
  let primaryError: DiskFormatError;
  try {
    return await tableAt(disk, 1, "primary");
  } catch (err) {
    if (!(err instanceof DiskFormatError)) throw err;
    primaryError = err;
  }
  try {
    return await tableAt(disk, lastLba, "backup");
  } catch (err) {
    if (!(err instanceof DiskFormatError)) throw err;
    throw new DiskFormatError(`${primaryError.message}; ${err.message}`, { cause: err });
  }
}

/** The verified table whose header is at `lba`. */
async function tableAt(disk: ByteSource, lba: number, which: string): Promise<Partition[]> {
  const where = `${which} GPT header (LBA ${lba}) of ${disk.name}`;
  const header = verifiedHeader(await disk.read(lba * SECTOR, SECTOR), where, lba);
  const tableBytes = header.entries * header.entrySize;
  const tableOffset = Number(header.tableOffset) * SECTOR;
  if (tableOffset + tableBytes > disk.size) {
    throw new DiskFormatError(`${where}: its entry array lies outside the disk`);
  }
  const table = await disk.read(tableOffset, tableBytes);
  const crc = crc32(table);
  if (crc !== header.tableChecksum) {
    throw new DiskFormatError(
      `${where}: partition entry array CRC32 is ${hex(crc)}, the header says ${hex(header.tableChecksum)}`,
    );
  }
  return entriesOf(disk, header, table, where);
}

function verifiedHeader(sector: Buffer, where: string, lba: number): GPT {
  const header = new GPT({ blockSize: SECTOR });
  try {
    header.parseHeader(sector);
  } catch (err) {
    throw new DiskFormatError(`${where}: ${(err as Error).message}`, { cause: err });
  }
  if (header.headerSize < 92 || header.headerSize > SECTOR) {
    throw new DiskFormatError(`${where}: header size ${header.headerSize} is not 92-${SECTOR}`);
  }
  const own = Buffer.from(sector.subarray(0, header.headerSize));
  own.writeUInt32LE(0, 16);
  const crc = crc32(own);
  if (crc !== header.headerChecksum) {
    throw new DiskFormatError(
      `${where}: header CRC32 is ${hex(crc)}, the header says ${hex(header.headerChecksum)}`,
    );
  }
  if (header.currentLBA !== BigInt(lba)) {
    throw new DiskFormatError(`${where}: it says it lies at LBA ${header.currentLBA}`);
  }
  if (header.entrySize < 128 || header.entrySize % 8 !== 0 || header.entries > MAX_ENTRIES) {
    throw new DiskFormatError(
      `${where}: ${header.entries} entries of ${header.entrySize} bytes is not a table`,
    );
  }
  return header;
}

/** The used entries, numbered by their index in the array from 1, each inside the usable LBAs. */
function entriesOf(disk: ByteSource, header: GPT, table: Buffer, where: string): Partition[] {
  const found: Partition[] = [];
  for (let i = 0; i < header.entries; i++) {
    const entry = GPT.PartitionEntry.parse(table, i * header.entrySize);
    if (entry.type === UNUSED) continue;
    const number = i + 1;
    if (
      entry.firstLBA > entry.lastLBA ||
      entry.firstLBA < header.firstLBA ||
      entry.lastLBA > header.lastLBA
    ) {
      throw new DiskFormatError(
        `${where}: entry ${number} (LBA ${entry.firstLBA}-${entry.lastLBA}) lies outside the usable LBAs ${header.firstLBA}-${header.lastLBA}`,
      );
    }
    const offset = Number(entry.firstLBA) * SECTOR;
    const size = Number(entry.lastLBA - entry.firstLBA + 1n) * SECTOR;
    if (offset + size > disk.size)
      throw new DiskFormatError(`${where}: entry ${number} lies outside the disk`);
    found.push({
      number,
      scheme: PartitionScheme.Gpt,
      offset,
      size,
      type: entry.type.toLowerCase(),
      label: entry.name.replace(/\0+$/, ""),
      guid: entry.guid.toLowerCase(),
    });
  }
  return found;
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

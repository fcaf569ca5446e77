import { crc32c } from "@aws-crypto/crc32c";
import { formatError, type HostFile, readStructure } from "./image-layout.ts";

/** The file type identifier's signature at offset 0. */
export const VHDX_SIGNATURE = "vhdxfile";
const KiB = 1024;
const MiB = 1024 * KiB;
const HEADER_OFFSETS = [64 * KiB, 128 * KiB] as const;
const REGION_OFFSETS = [192 * KiB, 256 * KiB] as const;
const HEADER_BYTES = 4 * KiB;
const REGION_BYTES = 64 * KiB;

/** The GUIDs the specification gives the regions and metadata items, as written (mixed-endian). */
const Guid = {
  bat: "2dc27766-f623-4200-9d64-115e9bfd4a08",
  metadata: "8b7ca206-4790-4b9a-b8fe-575f050f886e",
  fileParameters: "caa16737-fa36-4d43-b3b6-33f0aa44e76b",
  virtualDiskSize: "2fa54224-cd1b-4876-b211-5dbed83bf4b8",
  logicalSectorSize: "8141bf1d-a96f-4709-ba47-f233a8faab5f",
} as const;

/** What a VHDX file's headers, region table and metadata say about reading it. */
export interface VhdxHeader {
  readonly size: number;
  readonly blockSize: number;
  readonly logicalSectorSize: number;
  readonly batOffset: number;
  readonly batBytes: number;
  readonly hasParent: boolean;
}

const fail = (part: string, message: string) => formatError("vhdx", part, message);

/**
 * Reads and checks a VHDX file's structures: the current header (the valid one with the higher
 * sequence number), a valid region table, and the metadata items needed to read the BAT.
 *
 * @throws ValidationError naming the structure and field that is bad, and for an image whose log
 *   still holds writes to replay (its BAT and data are not yet what the log says).
 */
export async function readVhdxHeader(file: HostFile): Promise<VhdxHeader> {
  const id = await readStructure(file, 0, 8, "vhdx", "file identifier");
  if (id.toString("latin1") !== VHDX_SIGNATURE) throw fail("file identifier", 'signature is not "vhdxfile"');
  const header = await currentHeader(file);
  if (!header.subarray(48, 64).every((b) => b === 0)) {
    throw fail(
      "header",
      "log_guid is set: the log holds writes not yet replayed; open the image once in Hyper-V or qemu-img check -r all",
    );
  }
  const version = header.readUInt16LE(66);
  if (version !== 1) throw fail("header", `version ${version} is not 1`);
  const regions = await regionTable(file);
  const bat = regions.get(Guid.bat);
  const metadata = regions.get(Guid.metadata);
  if (!bat || !metadata) throw fail("region table", `the ${bat ? "metadata" : "BAT"} region is missing`);
  const meta = await readMetadata(file, metadata.offset, metadata.length);
  return { ...meta, batOffset: bat.offset, batBytes: bat.length };
}

/** A structure's CRC-32C, computed with its checksum field (bytes 4..7) as zero. */
function checksumOk(structure: Buffer): boolean {
  const copy = Buffer.from(structure);
  copy.writeUInt32LE(0, 4);
  return crc32c(copy) === structure.readUInt32LE(4);
}

async function currentHeader(file: HostFile): Promise<Buffer> {
  const valid: Buffer[] = [];
  for (const offset of HEADER_OFFSETS) {
    const h = await readStructure(file, offset, HEADER_BYTES, "vhdx", "header");
    if (h.toString("latin1", 0, 4) === "head" && checksumOk(h)) valid.push(h);
  }
  if (valid.length === 0)
    throw fail("header", 'neither copy has the "head" signature and a matching checksum');
  return valid.reduce((a, b) => (b.readBigUInt64LE(8) > a.readBigUInt64LE(8) ? b : a));
}

interface Region {
  readonly offset: number;
  readonly length: number;
}

async function regionTable(file: HostFile): Promise<Map<string, Region>> {
  for (const offset of REGION_OFFSETS) {
    const t = await readStructure(file, offset, REGION_BYTES, "vhdx", "region table");
    if (t.toString("latin1", 0, 4) !== "regi" || !checksumOk(t)) continue;
    const count = t.readUInt32LE(8);
    if (count > 2047) throw fail("region table", `entry_count ${count} is over 2047`);
    const regions = new Map<string, Region>();
    for (let i = 0; i < count; i++) {
      const at = 16 + i * 32;
      const region = { offset: Number(t.readBigUInt64LE(at + 16)), length: t.readUInt32LE(at + 24) };
      if (region.offset % MiB !== 0 || region.offset + region.length > file.size) {
        throw fail(
          "region table",
          `region ${guid(t, at)} at ${region.offset} is not 1 MiB-aligned inside the file`,
        );
      }
      regions.set(guid(t, at), region);
    }
    return regions;
  }
  throw fail("region table", 'neither copy has the "regi" signature and a matching checksum');
}

/** The GUID at `at` in its text form: the first three fields are stored little-endian. */
function guid(b: Buffer, at: number): string {
  const hex = (from: number, to: number, reverse: boolean) => {
    const part = Buffer.from(b.subarray(at + from, at + to));
    return (reverse ? part.reverse() : part).toString("hex");
  };
  return [hex(0, 4, true), hex(4, 6, true), hex(6, 8, true), hex(8, 10, false), hex(10, 16, false)].join("-");
}

async function readMetadata(
  file: HostFile,
  offset: number,
  length: number,
): Promise<Omit<VhdxHeader, "batOffset" | "batBytes">> {
  const region = await readStructure(file, offset, length, "vhdx", "metadata");
  if (region.toString("latin1", 0, 8) !== "metadata") throw fail("metadata", 'signature is not "metadata"');
  const count = region.readUInt16LE(10);
  const items = new Map<string, Buffer>();
  for (let i = 0; i < count && 32 + (i + 1) * 32 <= region.length; i++) {
    const at = 32 + i * 32;
    const itemOffset = region.readUInt32LE(at + 16);
    const itemLength = region.readUInt32LE(at + 20);
    if (itemOffset + itemLength > region.length)
      throw fail("metadata", `item ${guid(region, at)} runs past the region`);
    items.set(guid(region, at), region.subarray(itemOffset, itemOffset + itemLength));
  }
  const item = (id: string, name: string, bytes: number) => {
    const found = items.get(id);
    if (!found || found.length < bytes) throw fail("metadata", `the ${name} item is missing`);
    return found;
  };
  const parameters = item(Guid.fileParameters, "file parameters", 8);
  const blockSize = parameters.readUInt32LE(0);
  if (blockSize < MiB || blockSize > 256 * MiB || (blockSize & (blockSize - 1)) !== 0) {
    throw fail("metadata", `block_size ${blockSize} is not a power of two from 1 MiB to 256 MiB`);
  }
  const size = item(Guid.virtualDiskSize, "virtual disk size", 8).readBigUInt64LE(0);
  if (size > BigInt(Number.MAX_SAFE_INTEGER))
    throw fail("metadata", `virtual_disk_size ${size} is beyond 2^53`);
  const logicalSectorSize = item(Guid.logicalSectorSize, "logical sector size", 4).readUInt32LE(0);
  if (logicalSectorSize !== 512 && logicalSectorSize !== 4096) {
    throw fail("metadata", `logical_sector_size ${logicalSectorSize} is not 512 or 4096`);
  }
  return {
    size: Number(size),
    blockSize,
    logicalSectorSize,
    hasParent: (parameters.readUInt32LE(4) & 2) !== 0,
  };
}

import { formatError, type HostFile, readStructure } from "./image-layout.ts";

/** "KDMV": the magic of a VMDK sparse extent (version 4 header), read little-endian. */
export const VMDK_MAGIC = 0x564d444b;
const GD_AT_END = 0xffffffffffffffffn;
const SECTOR = 512;
const Flag = { redundantGd: 2, zeroGrain: 4, compressed: 0x10000, markers: 0x20000 } as const;
/** The disk types blockvault reads: one sparse extent, the descriptor embedded in it. */
export const VMDK_TYPES = {
  monolithicSparse: "vmdk-monolithic-sparse",
  streamOptimized: "vmdk-stream-optimized",
} as const;

/** What a VMDK sparse extent's header and embedded descriptor say about reading it. */
export interface VmdkHeader {
  readonly format: (typeof VMDK_TYPES)[keyof typeof VMDK_TYPES];
  readonly size: number;
  readonly grainBytes: number;
  readonly gtEntries: number;
  /** Host offset of the grain directory. */
  readonly gdOffset: number;
  readonly gdEntries: number;
  readonly compressed: boolean;
  readonly zeroGrains: boolean;
}

const fail = (message: string) => formatError("vmdk", "header", message);

/**
 * Reads and checks a VMDK sparse extent header and its embedded descriptor; a stream-optimized
 * image's grain directory offset comes from the footer at its end when the header defers to it.
 *
 * @throws ValidationError naming the field of a bad header or descriptor, and for VMDK kinds that
 *   are not one self-contained file (split extents, flat extents, delta disks).
 */
export async function readVmdkHeader(file: HostFile): Promise<VmdkHeader> {
  let h = await readStructure(file, 0, SECTOR, "vmdk", "header");
  if (h.readUInt32LE(0) !== VMDK_MAGIC) throw fail('magic is not "KDMV"');
  const version = h.readUInt32LE(4);
  if (version < 1 || version > 3) throw fail(`version ${version} out of range 1..3`);
  const flags = h.readUInt32LE(8);
  if (h.readBigUInt64LE(56) === GD_AT_END) h = await readFooter(file);
  const capacity = h.readBigUInt64LE(12);
  if (capacity > BigInt(Number.MAX_SAFE_INTEGER) / 512n)
    throw fail(`capacity ${capacity} sectors is beyond 2^53 bytes`);
  const grainSectors = Number(h.readBigUInt64LE(20));
  if (grainSectors < 1 || grainSectors > 65536 || (grainSectors & (grainSectors - 1)) !== 0) {
    throw fail(`grainSize ${grainSectors} is not a power of two from 1 to 65536 sectors`);
  }
  const gtEntries = h.readUInt32LE(44);
  if (gtEntries < 1 || gtEntries > 65536) throw fail(`numGTEsPerGT ${gtEntries} out of range 1..65536`);
  const compressAlgorithm = h.readUInt16LE(77);
  if (compressAlgorithm > 1)
    throw fail(`compressAlgorithm ${compressAlgorithm} is not 0 (none) or 1 (deflate)`);
  const compressed = (flags & Flag.compressed) !== 0;
  if (compressed && compressAlgorithm !== 1)
    throw fail("grains are flagged compressed but compressAlgorithm is 0");
  const size = Number(capacity) * SECTOR;
  const grainBytes = grainSectors * SECTOR;
  const gdEntries = Math.ceil(size / (grainBytes * gtEntries));
  const gdOffset = grainDirectory(h, flags) * SECTOR;
  if (gdEntries > 0 && (gdOffset === 0 || gdOffset + gdEntries * 4 > file.size)) {
    throw fail(
      `gdOffset ${gdOffset / SECTOR} with ${gdEntries} entries lies outside the ${file.size}-byte file`,
    );
  }
  const format = await readDescriptor(file, h, Number(capacity));
  return {
    format,
    size,
    grainBytes,
    gtEntries,
    gdOffset,
    gdEntries,
    compressed,
    zeroGrains: (flags & Flag.zeroGrain) !== 0,
  };
}

/** The primary grain directory's sector, or the redundant one's when only it is recorded. */
function grainDirectory(h: Buffer, flags: number): number {
  const gd = h.readBigUInt64LE(56);
  const rgd = h.readBigUInt64LE(48);
  const chosen = gd === 0n && flags & Flag.redundantGd ? rgd : gd;
  if (chosen > BigInt(Number.MAX_SAFE_INTEGER) / 512n) throw fail(`gdOffset ${chosen} is beyond the file`);
  return Number(chosen);
}

/** The copy of the header a stream-optimized image ends with: footer marker, footer, end-of-stream marker. */
async function readFooter(file: HostFile): Promise<Buffer> {
  if (file.size < 3 * SECTOR)
    throw fail("gdOffset is at the end, but the file is too short to hold the footer");
  const footer = await file.read(file.size - 2 * SECTOR, SECTOR);
  if (footer.readUInt32LE(0) !== VMDK_MAGIC || footer.readBigUInt64LE(56) === GD_AT_END) {
    throw fail("gdOffset is at the end, but the file does not end with a footer: truncated");
  }
  return footer;
}

/** Checks the embedded descriptor: one self-contained sparse extent, no parent. Returns the format. */
async function readDescriptor(file: HostFile, h: Buffer, capacity: number): Promise<VmdkHeader["format"]> {
  const offset = Number(h.readBigUInt64LE(28));
  const sectors = Number(h.readBigUInt64LE(36));
  const dfail = (message: string) => formatError("vmdk", "descriptor", message);
  if (offset === 0 || sectors === 0) {
    throw dfail("none embedded: the file is one extent of a split image, which is not supported");
  }
  if (sectors > 2048) throw dfail(`descriptorSize ${sectors} sectors is over 1 MiB`);
  const raw = await readStructure(file, offset * SECTOR, sectors * SECTOR, "vmdk", "descriptor");
  const text = raw.toString("latin1", 0, raw.indexOf(0) >= 0 ? raw.indexOf(0) : raw.length);
  const createType = /^\s*createType\s*=\s*"([^"]*)"/m.exec(text)?.[1];
  if (createType !== "monolithicSparse" && createType !== "streamOptimized") {
    throw dfail(`createType "${createType ?? ""}" is not monolithicSparse or streamOptimized`);
  }
  const parent = /^\s*parentCID\s*=\s*(\S+)/m.exec(text)?.[1];
  if (parent !== undefined && parent.toLowerCase() !== "ffffffff") {
    throw dfail(`parentCID ${parent}: delta disks (snapshots) are not supported; consolidate them first`);
  }
  const extents = [...text.matchAll(/^\s*(?:RW|RDONLY|NOACCESS)\s+(\d+)\s+(\S+)/gm)];
  if (extents.length !== 1 || extents[0]![2] !== "SPARSE") {
    throw dfail(`${extents.length} extents where one SPARSE extent was expected`);
  }
  if (Number(extents[0]![1]) !== capacity) {
    throw dfail(`the extent has ${extents[0]![1]} sectors but the header's capacity is ${capacity}`);
  }
  return VMDK_TYPES[createType];
}

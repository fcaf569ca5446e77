import { type BackingReference, Codec, formatError, type HostFile, readStructure } from "./image-layout.ts";

/** The first four bytes of every qcow2 image: "QFI" and 0xfb. */
export const QCOW2_MAGIC = 0x514649fb;

/** Incompatible feature bits (header offset 72) this reader understands. */
const Incompatible = {
  dirty: 1n,
  corrupt: 2n,
  externalData: 4n,
  compressionType: 8n,
  extendedL2: 16n,
} as const;
const KNOWN_INCOMPATIBLE = Object.values(Incompatible).reduce((a, b) => a | b, 0n);

/** Header extension types (see the qcow2 specification, "Header extensions"). */
const Extension = { end: 0, backingFormat: 0xe2792aca } as const;

/** qemu refuses L1 tables larger than this; so does this reader (it bounds memory). */
const MAX_L1_BYTES = 32 * 1024 * 1024;

/** What a qcow2 image's header says about reading it. */
export interface Qcow2Header {
  readonly version: 2 | 3;
  readonly clusterBits: number;
  readonly size: number;
  readonly l1Size: number;
  readonly l1Offset: number;
  readonly extendedL2: boolean;
  readonly codec: Codec;
  readonly backing?: BackingReference;
}

const FORMAT = "qcow2";
const fail = (message: string) => formatError(FORMAT, "header", message);

/**
 * Reads and checks a qcow2 header (the first cluster's leading bytes and extensions).
 *
 * @throws ValidationError naming the field when the header is truncated, inconsistent or uses
 *   a feature this reader cannot honour (encryption, an external data file, an unknown bit).
 */
export async function readQcow2Header(file: HostFile): Promise<Qcow2Header> {
  let h = await readStructure(file, 0, Math.min(file.size, 4096), FORMAT, "header");
  if (h.length < 72) throw fail(`file is ${file.size} bytes, shorter than the 72-byte header`);
  if (h.readUInt32BE(0) !== QCOW2_MAGIC) throw fail("magic is not QFI\\xfb");
  const version = h.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw fail(`version ${version} is not 2 or 3`);
  const clusterBits = h.readUInt32BE(20);
  if (clusterBits < 9 || clusterBits > 21) throw fail(`cluster_bits ${clusterBits} out of range 9..21`);
  const clusterSize = 2 ** clusterBits;
  // Extensions and the backing file name may use the whole first cluster.
  if (clusterSize > h.length && file.size > h.length) {
    h = await file.read(0, Math.min(file.size, clusterSize));
  }
  const size = safeNumber(h.readBigUInt64BE(24), "size");
  const crypt = h.readUInt32BE(32);
  if (crypt !== 0) throw fail(`crypt_method ${crypt}: encrypted images are not supported`);
  const l1Size = h.readUInt32BE(36);
  const l1Offset = safeNumber(h.readBigUInt64BE(40), "l1_table_offset");
  const { headerLength, incompatible, compressionType } = readV3Fields(h, version);
  const extendedL2 = (incompatible & Incompatible.extendedL2) !== 0n;
  if (extendedL2 && clusterBits < 14) throw fail(`cluster_bits ${clusterBits} is below 14 with extended L2`);
  checkL1(l1Size, l1Offset, size, clusterBits, extendedL2, file.size);
  const codec = compressionCodec(incompatible, compressionType);
  const backingFormat = readExtensions(h, headerLength, clusterSize);
  const backing = readBackingName(h, clusterSize, backingFormat);
  return { version, clusterBits, size, l1Size, l1Offset, extendedL2, codec, ...(backing ? { backing } : {}) };
}

function safeNumber(value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(`${field} ${value} is beyond 2^53`);
  return Number(value);
}

/** The version 3 fields: header length, incompatible features, compression type. */
function readV3Fields(h: Buffer, version: number) {
  if (version === 2) return { headerLength: 72, incompatible: 0n, compressionType: 0 };
  if (h.length < 104) throw fail(`file is ${h.length} bytes, shorter than the 104-byte version 3 header`);
  const headerLength = h.readUInt32BE(100);
  if (headerLength < 104 || headerLength % 8 !== 0 || headerLength > h.length) {
    throw fail(`header_length ${headerLength} is not a multiple of 8 from 104 to ${h.length}`);
  }
  const incompatible = h.readBigUInt64BE(72);
  const unknown = incompatible & ~KNOWN_INCOMPATIBLE;
  if (unknown !== 0n) throw fail(`incompatible_features has unknown bits 0x${unknown.toString(16)}`);
  if (incompatible & Incompatible.externalData) {
    throw fail("incompatible_features names an external data file, which is not supported");
  }
  const refcountOrder = h.readUInt32BE(96);
  if (refcountOrder > 6) throw fail(`refcount_order ${refcountOrder} out of range 0..6`);
  const compressionType = headerLength > 104 ? h.readUInt8(104) : 0;
  return { headerLength, incompatible, compressionType };
}

function checkL1(
  l1Size: number,
  l1Offset: number,
  size: number,
  clusterBits: number,
  extendedL2: boolean,
  fileSize: number,
): void {
  const clusterSize = 2 ** clusterBits;
  const l2Entries = clusterSize / (extendedL2 ? 16 : 8);
  const needed = Math.ceil(size / (clusterSize * l2Entries));
  if (l1Size < needed) throw fail(`l1_size ${l1Size} is too small for size ${size} (needs ${needed})`);
  if (l1Size * 8 > MAX_L1_BYTES) throw fail(`l1_size ${l1Size} is larger than the 32 MiB limit`);
  if (l1Size === 0) return;
  if (l1Offset % clusterSize !== 0) throw fail(`l1_table_offset ${l1Offset} is not cluster-aligned`);
  if (l1Offset === 0 || l1Offset + l1Size * 8 > fileSize) {
    throw fail(`l1_table_offset ${l1Offset} with l1_size ${l1Size} lies outside the ${fileSize}-byte file`);
  }
}

function compressionCodec(incompatible: bigint, compressionType: number): Codec {
  const flagged = (incompatible & Incompatible.compressionType) !== 0n;
  if (!flagged && compressionType !== 0) {
    throw fail(`compression_type ${compressionType} without the compression type feature bit`);
  }
  if (!flagged) return Codec.DeflateRaw;
  if (compressionType === 1) return Codec.Zstd;
  throw fail(`compression_type ${compressionType} is not 1 (zstd)`);
}

/** Walks the header extensions; returns the backing file format when one is named. */
function readExtensions(h: Buffer, start: number, clusterSize: number): string | undefined {
  let at = start;
  let backingFormat: string | undefined;
  while (at + 8 <= Math.min(h.length, clusterSize)) {
    const type = h.readUInt32BE(at);
    const length = h.readUInt32BE(at + 4);
    if (type === Extension.end) return backingFormat;
    const end = at + 8 + length;
    if (end > Math.min(h.length, clusterSize)) {
      throw fail(`header extension 0x${type.toString(16)} at ${at} runs past the first cluster`);
    }
    if (type === Extension.backingFormat) backingFormat = h.toString("latin1", at + 8, end);
    at = end + ((8 - (length % 8)) % 8);
  }
  return backingFormat;
}

function readBackingName(
  h: Buffer,
  clusterSize: number,
  format: string | undefined,
): BackingReference | undefined {
  const offset = Number(h.readBigUInt64BE(8));
  if (offset === 0) return undefined;
  const length = h.readUInt32BE(16);
  if (length === 0 || length > 1023) throw fail(`backing_file_size ${length} out of range 1..1023`);
  if (offset + length > Math.min(h.length, clusterSize)) {
    throw fail(`backing_file_offset ${offset} with backing_file_size ${length} runs past the first cluster`);
  }
  const name = h.toString("utf8", offset, offset + length);
  return format ? { name, format } : { name };
}

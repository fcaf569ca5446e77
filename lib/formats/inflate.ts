import { constants, inflateRawSync, inflateSync, zstdDecompressSync } from "node:zlib";
import { Codec, formatError } from "./image-layout.ts";

/**
 * Inflates one compressed unit of an image (a qcow2 cluster, a VMDK grain) to exactly `unpacked`
 * bytes. The stored bytes may run on past the end of the stream (qcow2 counts whole sectors, and
 * the next cluster may start in the last one), so decoding stops at the unit's size; a unit that
 * inflates to less is corrupt.
 *
 * @throws ValidationError naming the format and the host offset of a unit that does not decode.
 */
export function inflateUnit(
  format: string,
  codec: Codec,
  stored: Buffer,
  unpacked: number,
  host: number,
): Buffer {
  let out: Buffer;
  try {
    const options = { maxOutputLength: unpacked, finishFlush: constants.Z_SYNC_FLUSH };
    if (codec === Codec.VmdkGrain) return vmdkGrain(stored, unpacked);
    if (codec === Codec.DeflateRaw) out = inflateRawSync(stored, options);
    else if (codec === Codec.Zlib) out = inflateSync(stored, options);
    else out = zstdDecompressSync(stored.subarray(0, zstdFrameLength(stored)), { maxOutputLength: unpacked });
  } catch (cause) {
    throw formatError(
      format,
      "compressed data",
      `unit at offset ${host} does not decode: ${(cause as Error).message}`,
    );
  }
  if (out.length !== unpacked) {
    throw formatError(
      format,
      "compressed data",
      `unit at offset ${host} inflates to ${out.length} bytes, not ${unpacked}`,
    );
  }
  return out;
}

/**
 * A VMDK grain behind its marker. The specification says deflate; VMware's and qemu's writers
 * make zlib streams (RFC 1950), so a valid zlib header decides which. The disk's last grain may
 * hold less than a grain: the rest is zeros.
 */
function vmdkGrain(stored: Buffer, unpacked: number): Buffer {
  if (stored.length < 12) throw new Error("the grain marker is cut short");
  const size = stored.readUInt32LE(8);
  if (size === 0 || 12 + size > stored.length)
    throw new Error(`grain marker size ${size} does not fit the file`);
  const data = stored.subarray(12, 12 + size);
  const zlibHeader = data.length >= 2 && (data[0]! & 0x0f) === 8 && ((data[0]! << 8) | data[1]!) % 31 === 0;
  const options = { maxOutputLength: unpacked, finishFlush: constants.Z_SYNC_FLUSH };
  const out = zlibHeader ? inflateSync(data, options) : inflateRawSync(data, options);
  if (out.length === unpacked) return out;
  const padded = Buffer.alloc(unpacked);
  out.copy(padded);
  return padded;
}

const ZSTD_MAGIC = 0xfd2fb528;

/**
 * The length of the zstd frame at the start of `data` (RFC 8878, "Frames"), found from its
 * header and block headers without decoding. The bytes after it may be the next unit's frame,
 * which a decoder would otherwise go on to decompress as well.
 */
export function zstdFrameLength(data: Buffer): number {
  if (data.length < 5 || data.readUInt32LE(0) !== ZSTD_MAGIC) throw new Error("no zstd frame magic");
  const descriptor = data[4]!;
  const singleSegment = (descriptor >> 5) & 1;
  const contentSizeBytes = [singleSegment, 2, 4, 8][descriptor >> 6]!;
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!;
  let at = 5 + (singleSegment ? 0 : 1) + dictionaryBytes + contentSizeBytes;
  for (let last = 0; !last; ) {
    if (at + 3 > data.length) throw new Error("zstd frame is truncated");
    const header = data.readUIntLE(at, 3);
    last = header & 1;
    const type = (header >> 1) & 3;
    at += 3 + (type === 1 ? 1 : header >>> 3);
  }
  const checksum = (descriptor >> 2) & 1 ? 4 : 0;
  if (at + checksum > data.length) throw new Error("zstd frame is truncated");
  return at + checksum;
}

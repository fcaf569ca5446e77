import { zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { IntegrityError } from "../../errors.ts";
import type { PackedBlob, WrappedKeyRef } from "../pack/pack.ts";
import { BLOCK_ID_BYTES } from "../store/layout.ts";
import { refuseNewerVersion } from "../store/object-version.ts";
import type { IndexedPack } from "./block-index.ts";

/*
 * The bytes of an index object (before the metadata layer encrypts and names them).
 *
 * Version 2, written since: `BVIX\x02`, then zstd of
 *   u32 LE length of a JSON header `{"packs":[{"id","size","key","blobs": count}]}`,
 *   the header, then the blobs of every pack in order, in columns: all IDs (32 bytes each), all
 *   offsets, all lengths, all raw lengths (u32 LE each).
 * Columns keep the random IDs apart from the numbers, which then compress to almost nothing, so
 * a blob costs fewer bytes than in version 1. Decoding needs no JSON parse of every blob, a cost
 * that comes before a restore's first read and grows with the vault.
 *
 * Version 1 (`BVIX\x01`, zstd of JSON with one `[id, offset, length, rawLength]` per blob) is
 * still read.
 */

const MAGIC_V1 = Buffer.from("BVIX\x01");
const MAGIC_V2 = Buffer.from("BVIX\x02");
const U32_MAX = 0xffff_ffff;
/** Blobs an index object may claim: far above any real one, it bounds what a decoder allocates. */
const MAX_BLOBS = 1 << 24;

interface HeaderPack {
  id: string;
  size: number;
  key: WrappedKeyRef;
  blobs: number;
}

/** Serialises packs into the bytes of one index object (version 2). */
export function encodeIndex(packs: readonly IndexedPack[]): Buffer {
  const blobs = packs.flatMap((p) => p.blobs);
  const header = Buffer.from(
    JSON.stringify({
      packs: packs.map((p): HeaderPack => ({ id: p.id, size: p.size, key: p.key, blobs: p.blobs.length })),
    }),
  );
  const n = blobs.length;
  const body = Buffer.alloc(4 + header.length + n * (BLOCK_ID_BYTES + 12));
  body.writeUInt32LE(header.length, 0);
  header.copy(body, 4);
  const ids = 4 + header.length;
  const numbers = ids + n * BLOCK_ID_BYTES;
  blobs.forEach((b, i) => {
    if (
      body.write(b.id, ids + i * BLOCK_ID_BYTES, BLOCK_ID_BYTES, "hex") !== BLOCK_ID_BYTES ||
      b.id.length !== 2 * BLOCK_ID_BYTES
    ) {
      throw new Error(`index entry ${i}: block ID "${b.id}" is not 32 bytes of hex`);
    }
    [b.offset, b.length, b.rawLength].forEach((value, column) => {
      if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
        throw new Error(`index entry ${i} (block ${b.id}): ${value} does not fit the index format`);
      }
      body.writeUInt32LE(value, numbers + (column * n + i) * 4);
    });
  });
  return Buffer.concat([MAGIC_V2, zstdCompressSync(body)]);
}

/** Parses the bytes of an index object (already checked against its name), either version. */
export function decodeIndex(key: string, bytes: Buffer): IndexedPack[] {
  refuseNewerVersion(key, bytes, "BVIX", 2, "index object");
  const magic = bytes.subarray(0, MAGIC_V2.length);
  const isV2 = magic.equals(MAGIC_V2);
  if (!isV2 && !magic.equals(MAGIC_V1)) throw new IntegrityError(`${key}: not an index object`);
  try {
    const body = zstdDecompressSync(bytes.subarray(MAGIC_V2.length));
    return isV2 ? decodeV2(body) : decodeV1(body);
  } catch (cause) {
    throw new IntegrityError(`${key}: unreadable index object`, { cause });
  }
}

function decodeV2(body: Buffer): IndexedPack[] {
  const headerLength = body.readUInt32LE(0);
  const header = JSON.parse(body.toString("utf8", 4, 4 + headerLength)) as { packs: HeaderPack[] };
  const n = header.packs.reduce((sum, p) => sum + p.blobs, 0);
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_BLOBS) throw new Error(`claims ${n} blobs`);
  const ids = 4 + headerLength;
  const numbers = ids + n * BLOCK_ID_BYTES;
  if (body.length !== numbers + n * 12) throw new Error(`${body.length} bytes for ${n} blobs`);
  const column = (c: number, i: number) => body.readUInt32LE(numbers + (c * n + i) * 4);
  let i = 0;
  return header.packs.map((p) => {
    const blobs: PackedBlob[] = [];
    for (let b = 0; b < p.blobs; b++, i++) {
      blobs.push({
        id: body.toString("hex", ids + i * BLOCK_ID_BYTES, ids + (i + 1) * BLOCK_ID_BYTES),
        offset: column(0, i),
        length: column(1, i),
        rawLength: column(2, i),
      });
    }
    return { id: p.id, size: p.size, key: p.key, blobs };
  });
}

function decodeV1(body: Buffer): IndexedPack[] {
  const parsed = JSON.parse(body.toString("utf8")) as {
    packs: { id: string; size: number; key: WrappedKeyRef; blobs: [string, number, number, number][] }[];
  };
  return parsed.packs.map((p) => ({
    id: p.id,
    size: p.size,
    key: p.key,
    blobs: p.blobs.map(([id, offset, length, rawLength]) => ({ id, offset, length, rawLength })),
  }));
}

/** The version 1 encoding, for tests of vaults written before version 2. */
export function encodeIndexV1(packs: readonly IndexedPack[]): Buffer {
  const json = JSON.stringify({
    packs: packs.map((p) => ({
      id: p.id,
      size: p.size,
      key: p.key,
      blobs: p.blobs.map((b) => [b.id, b.offset, b.length, b.rawLength]),
    })),
  });
  return Buffer.concat([MAGIC_V1, zstdCompressSync(Buffer.from(json))]);
}

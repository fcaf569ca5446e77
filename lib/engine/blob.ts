import { createCipheriv, createDecipheriv, createHmac, type KeyObject, timingSafeEqual } from "node:crypto";
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { IntegrityError } from "../errors.ts";

/**
 * A sealed blob is one block, compressed when that pays, then encrypted with AES-256-GCM:
 * `ciphertext ‖ tag (16)`. The nonce is not stored: it is the first 96 bits of the block ID. IDs
 * are keyed hashes of the content, so under one data key two different blocks never share a
 * nonce (a 96-bit collision is out of reach: rotation caps a key at about a million blocks), and the same block sealed
 * twice only yields the same ciphertext, which its ID reveals anyway. The plaintext starts with
 * one codec byte so the codec is
 * authenticated too, and the additional data binds the block ID: a blob moved to another ID, or
 * any flipped byte, fails to open.
 */
export const Codec = { None: 0, Zstd: 1 } as const;

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const AAD_PREFIX = Buffer.from("blockvault/blob/v1");
/**
 * Before compressing, estimate the byte entropy of a 4 KiB sample: above this many bits per byte
 * the block is treated as incompressible (random or already compressed/encrypted) and stored
 * as is. Far cheaper than a trial compression, which on such data is pure loss.
 */
const SAMPLE_BYTES = 4096;
const MAX_ENTROPY_BITS = 7.5;
const MIN_WINDOW_LOG = 10;
const MAX_WINDOW_LOG = 22;
/** Keep the compressed form only if it saves at least this fraction. */
const MIN_SAVING = 0.03;

/** Overhead a sealed blob adds to its payload. */
export const SEAL_OVERHEAD = TAG_BYTES + 1;

/** A key as raw bytes or, cheaper when used many times, as a KeyObject. */
export type Key = Buffer | KeyObject;

/** Computes a block's ID: HMAC-SHA-256 of its bytes under the vault's block-ID key. */
export function blockId(blockIdKey: Key, data: Uint8Array): Buffer {
  return createHmac("sha256", blockIdKey).update(data).digest();
}

/** One buffer per thread for the additional data: setAAD copies it, so it can be reused. */
const aadScratch = Buffer.alloc(AAD_PREFIX.length + 32);
AAD_PREFIX.copy(aadScratch);

function aad(id: Uint8Array): Buffer {
  if (id.length !== 32) return Buffer.concat([AAD_PREFIX, id]);
  aadScratch.set(id, AAD_PREFIX.length);
  return aadScratch;
}

const histogram = new Uint32Array(256);

/** Shannon entropy, in bits per byte, of two 2 KiB samples (start and middle) of `data`. */
function sampleEntropy(data: Uint8Array): number {
  histogram.fill(0);
  const half = SAMPLE_BYTES / 2;
  const middle = Math.max(half, (data.length >> 1) - (half >> 1));
  for (let i = 0; i < half; i++) {
    histogram[data[i]!]!++;
    histogram[data[middle + i]!]!++;
  }
  let bits = 0;
  for (const count of histogram) {
    if (count === 0) continue;
    const p = count / SAMPLE_BYTES;
    bits -= p * Math.log2(p);
  }
  return bits;
}

function compressIfWorthIt(data: Buffer, level: number): { codec: number; payload: Buffer } {
  // A block is at most a few hundred KiB: a window and tables sized for it set up faster than
  // the level's defaults, with the same output.
  const windowLog = Math.min(MAX_WINDOW_LOG, Math.max(MIN_WINDOW_LOG, Math.ceil(Math.log2(data.length))));
  const params = {
    [constants.ZSTD_c_compressionLevel]: level,
    [constants.ZSTD_c_windowLog]: windowLog,
    [constants.ZSTD_c_hashLog]: windowLog - 1,
    [constants.ZSTD_c_chainLog]: windowLog,
  };
  if (data.length >= SAMPLE_BYTES * 2 && sampleEntropy(data) > MAX_ENTROPY_BITS)
    return { codec: Codec.None, payload: data };
  const packed = zstdCompressSync(data, { params });
  if (packed.length <= data.length * (1 - MIN_SAVING)) return { codec: Codec.Zstd, payload: packed };
  return { codec: Codec.None, payload: data };
}

/**
 * Compresses (when it pays) and encrypts one block under `dataKey`, bound to its ID. The sealed
 * bytes are written into the buffer `allocate` returns for their length, so a caller can seal
 * straight into a pack.
 */
export function sealBlock(
  dataKey: Key,
  id: Uint8Array,
  data: Buffer,
  zstdLevel: number,
  allocate: (length: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  const { codec, payload } = compressIfWorthIt(data, zstdLevel);
  const out = allocate(1 + payload.length + TAG_BYTES);
  const cipher = createCipheriv("aes-256-gcm", dataKey, id.subarray(0, NONCE_BYTES));
  cipher.setAAD(aad(id));
  let at = 0;
  at += cipher.update(Buffer.of(codec)).copy(out, at);
  at += cipher.update(payload).copy(out, at);
  at += cipher.final().copy(out, at);
  cipher.getAuthTag().copy(out, at);
  return out;
}

/**
 * Decrypts and decompresses a sealed blob and checks that its bytes hash to `id` and are
 * `expectedLength` long. Any failure is an {@link IntegrityError}; nothing unverified is returned.
 */
export function openBlock(
  dataKey: Key,
  blockIdKey: Key,
  id: Uint8Array,
  sealed: Uint8Array,
  expectedLength: number,
): Buffer {
  const idHex = Buffer.from(id).toString("hex");
  if (sealed.length < SEAL_OVERHEAD) throw new IntegrityError(`block ${idHex}: sealed blob is truncated`);

  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", dataKey, id.subarray(0, NONCE_BYTES));
  decipher.setAAD(aad(id));
  decipher.setAuthTag(tag);
  let plain: Buffer;
  try {
    // GCM is a stream mode: update() returns every plaintext byte and final() only checks
    // the tag, so no concatenation (and no extra copy) is needed.
    plain = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    decipher.final();
  } catch (cause) {
    throw new IntegrityError(`block ${idHex}: authentication failed (corrupted or tampered pack data)`, {
      cause,
    });
  }
  const codec = plain[0];
  let data: Buffer;
  if (codec === Codec.None) data = plain.subarray(1);
  else if (codec === Codec.Zstd) {
    try {
      data = zstdDecompressSync(plain.subarray(1), { maxOutputLength: expectedLength });
    } catch (cause) {
      throw new IntegrityError(`block ${idHex}: decompression failed`, { cause });
    }
  } else throw new IntegrityError(`block ${idHex}: unknown codec ${codec}`);
  if (data.length !== expectedLength) {
    throw new IntegrityError(`block ${idHex}: length ${data.length}, expected ${expectedLength}`);
  }
  const actual = blockId(blockIdKey, data);
  if (actual.length !== id.length || !timingSafeEqual(actual, id)) {
    throw new IntegrityError(`block ${idHex}: content does not match its ID`);
  }
  return data;
}

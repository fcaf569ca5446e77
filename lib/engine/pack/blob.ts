import { createCipheriv, createDecipheriv, createHmac, type KeyObject, timingSafeEqual } from "node:crypto";
import { IntegrityError } from "../../errors.ts";
import { type BlockCompressor, Codec } from "./block-compressor.ts";
import { BlockDecompressor } from "./block-decompressor.ts";

/*
 * A sealed blob is one block, compressed when that pays, then encrypted with AES-256-GCM:
 * `ciphertext ‖ tag (16)`. The nonce is not stored: it is the first 96 bits of the block ID. IDs
 * are keyed hashes of the content, so under one data key two different blocks never share a
 * nonce (a 96-bit collision is out of reach: rotation caps a key at about a million blocks), and
 * the same block sealed twice only yields the same ciphertext, which its ID reveals anyway. The
 * plaintext starts with one codec byte so the codec is authenticated too, and the additional data
 * binds the block ID: a blob moved to another ID, or any flipped byte, fails to open.
 */

/** How a blob's payload is encoded: its first plaintext byte. */
export { Codec };

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const AAD_PREFIX = Buffer.from("blockvault/blob/v1");
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

const CODEC_NONE = Buffer.of(Codec.None);

/** This thread's zstd decompression context, made on first use. */
let decompressor: BlockDecompressor | undefined;

/**
 * Compresses (when it pays, with `compressor`) and encrypts one block under `dataKey`, bound to
 * its ID. The sealed bytes are written into the buffer `allocate` returns for their length, so a
 * caller can seal straight into a pack.
 */
export function sealBlock(
  dataKey: Key,
  id: Uint8Array,
  data: Buffer,
  compressor: BlockCompressor,
  allocate: (length: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  const pieces = sealPieces(dataKey, id, data, compressor);
  const out = allocate(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) at += p.copy(out, at);
  return out;
}

/**
 * Seals one block like {@link sealBlock}, returning the sealed bytes as the pieces the cipher
 * produced them in (their concatenation is the sealed blob), for a caller that writes them out
 * without joining them first.
 */
export function sealPieces(
  dataKey: Key,
  id: Uint8Array,
  data: Buffer,
  compressor: BlockCompressor,
): Buffer[] {
  const { codec, payload, framed } = compressor.compress(data);
  const cipher = createCipheriv("aes-256-gcm", dataKey, id.subarray(0, NONCE_BYTES));
  cipher.setAAD(aad(id));
  const pieces = framed
    ? [cipher.update(framed)]
    : [cipher.update(codec === Codec.None ? CODEC_NONE : Buffer.of(codec)), cipher.update(payload)];
  // GCM is a stream mode: final() adds no bytes, it only computes the tag.
  const last = cipher.final();
  if (last.length > 0) pieces.push(last);
  pieces.push(cipher.getAuthTag());
  return pieces;
}

/**
 * Decrypts and decompresses a sealed blob and checks that its bytes hash to `id` and are
 * `expectedLength` long. Any failure is an {@link IntegrityError}; nothing unverified is returned.
 * A compressed block is decompressed into `scratch` when it has room (more than
 * `expectedLength` bytes) and returned as a view of it; other blocks are returned in buffers of
 * their own.
 */
export function openBlock(
  dataKey: Key,
  blockIdKey: Key,
  id: Uint8Array,
  sealed: Uint8Array,
  expectedLength: number,
  scratch?: Buffer,
): Buffer {
  // Named only when something failed: a restore opens thousands of blocks a second.
  const failed = (what: string, cause?: unknown) =>
    new IntegrityError(
      `block ${Buffer.from(id).toString("hex")}: ${what}`,
      cause === undefined ? {} : { cause },
    );
  if (sealed.length < SEAL_OVERHEAD) throw failed("sealed blob is truncated");

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
    throw failed("authentication failed (corrupted or tampered pack data)", cause);
  }
  const codec = plain[0];
  let data: Buffer;
  if (codec === Codec.None) data = plain.subarray(1);
  else if (codec === Codec.Zstd) {
    try {
      decompressor ??= new BlockDecompressor();
      data = decompressor.decompress(plain.subarray(1), expectedLength, scratch);
    } catch (cause) {
      throw failed("decompression failed", cause);
    }
  } else throw failed(`unknown codec ${codec}`);
  if (data.length !== expectedLength) {
    throw failed(`length ${data.length}, expected ${expectedLength}`);
  }
  const actual = blockId(blockIdKey, data);
  if (actual.length !== id.length || !timingSafeEqual(actual, id)) {
    throw failed("content does not match its ID");
  }
  return data;
}

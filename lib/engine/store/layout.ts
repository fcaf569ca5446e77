/**
 * Where the engine keeps things in the object store, and the fixed parameters of the on-store
 * format. Every object except `config` is content-addressed: its name is a hash of its bytes, so a
 * reader can always check that what it got is what was written.
 */

/** Version of the on-store format this code writes and reads. */
export const FORMAT_VERSION = 1;

/**
 * Default block size: fewer blocks cost less CPU per backup, larger ones store more per small
 * change; 128 KiB is the balance measured in docs/design.md, "Block size".
 */
export const DEFAULT_BLOCK_SIZE = 128 * 1024;

/**
 * Blocks per segment manifest: 256 × 128 KiB = 32 MiB of disk per segment. Fewer, larger segments
 * mean fewer objects to write and read per point, for more manifest bytes rewritten per scattered
 * change (docs/design.md, "Measured choices").
 */
export const DEFAULT_SEGMENT_BLOCKS = 256;

/** A pack is closed once its blobs reach this many bytes: few requests, little memory. */
export const PACK_TARGET_BYTES = 8 * 1024 * 1024;

/** Length of a block ID (HMAC-SHA-256). */
export const BLOCK_ID_BYTES = 32;

/** Length of a block fingerprint (see fingerprint.ts). */
export const FINGERPRINT_BYTES = 16;

/** Allowed block sizes: powers of two from 4 KiB to 4 MiB. */
export function isValidBlockSize(n: number): boolean {
  return Number.isInteger(n) && n >= 4096 && n <= 4 * 1024 * 1024 && (n & (n - 1)) === 0;
}

/** The vault's configuration object (the only object that is not content-addressed). */
export const CONFIG_KEY = "config";

/** Key of a pack: `packs/<first two hex digits>/<256-bit random id, hex>`. */
export function packKey(packId: string): string {
  return `packs/${packId.slice(0, 2)}/${packId}`;
}

/** Key of an index object. */
export function indexKey(indexId: string): string {
  return `index/${indexId}`;
}

/**
 * Key of a manifest (root or segment): `manifests/<first hex digit>/<id>`. Sixteen directories
 * suffice for the few hundred manifests an incremental adds; packs, far more, get 256.
 */
export function manifestKey(manifestId: string): string {
  return `manifests/${manifestId.slice(0, 1)}/${manifestId}`;
}

/** Extracts the id from a `packs/xx/<id>` or `index/<id>` key. */
export function idFromKey(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}

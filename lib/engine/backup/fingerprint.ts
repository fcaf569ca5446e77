import { createCipheriv, type KeyObject } from "node:crypto";
import { FINGERPRINT_BYTES } from "../store/layout.ts";

/**
 * Block fingerprints: a cheap, keyed test of "has this block changed since the parent point?".
 *
 * An incremental must look at every block of a disk that has no change tracking, and the keyed
 * SHA-256 of a block ID costs about four times as much as the GHASH universal hash that
 * AES-GCM's authentication runs on (with carry-less multiplication in hardware). So each block
 * also gets a fingerprint: GMAC of the block under a vault key with a fixed nonce, i.e. GHASH
 * keyed by a secret H (plus a constant), then encrypted with AES under a second vault key.
 *
 * - A changed block keeps its fingerprint with probability at most (block bytes / 16) / 2^128
 *   (GHASH is almost-XOR-universal for messages chosen without knowledge of H), about 2^-115
 *   for 128 KiB blocks: when the fingerprint matches, the block is treated as unchanged and the
 *   parent's ID is reused without hashing.
 * - GHASH alone is linear and would let an observer who knows some blocks solve for H; the AES
 *   permutation on top makes fingerprints look random, so like IDs they reveal only equality.
 */
export class Fingerprinter {
  private readonly hashKey: KeyObject;
  private readonly prpKey: KeyObject;
  private static readonly NONCE = Buffer.alloc(12);

  constructor(hashKey: KeyObject, prpKey: KeyObject) {
    this.hashKey = hashKey;
    this.prpKey = prpKey;
  }

  /**
   * Fingerprints `count` blocks; `blockAt(i)` returns block i or undefined for a hole (whose
   * fingerprint stays all zero). Returns `count × 16` bytes.
   */
  fingerprints(count: number, blockAt: (i: number) => Buffer | undefined): Buffer {
    const tags = Buffer.alloc(count * FINGERPRINT_BYTES);
    const holes: number[] = [];
    for (let i = 0; i < count; i++) {
      const block = blockAt(i);
      if (!block) {
        holes.push(i);
        continue;
      }
      const gmac = createCipheriv("aes-256-gcm", this.hashKey, Fingerprinter.NONCE);
      gmac.setAAD(block);
      gmac.final();
      gmac.getAuthTag().copy(tags, i * FINGERPRINT_BYTES);
    }
    // One ECB pass permutes every 16-byte tag independently under the second key.
    const prp = createCipheriv("aes-256-ecb", this.prpKey, null);
    prp.setAutoPadding(false);
    const out = prp.update(tags);
    for (const i of holes) out.fill(0, i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES);
    return out;
  }
}

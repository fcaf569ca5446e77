import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";

/**
 * The secrets one vault derives from its dedup key. The dedup key is the one secret the backup
 * path may unwrap; from it come the block-ID key (IDs reveal nothing about content without it)
 * and the metadata key that names and authenticates index and manifest objects.
 */
export interface VaultSecrets {
  readonly blockIdKey: Buffer;
  readonly metadataKey: Buffer;
  /** The two keys of block fingerprints: a GMAC key and the AES key that hides its output. */
  readonly fingerprintKeys: readonly [Buffer, Buffer];
}

/** Derives the vault's working keys from its 32-byte dedup key with HKDF-SHA-256. */
export function deriveVaultSecrets(dedupKey: Buffer, vaultId: string): VaultSecrets {
  const derive = (label: string) => Buffer.from(hkdfSync("sha256", dedupKey, vaultId, label, 32));
  return {
    blockIdKey: derive("blockvault/block-id/v1"),
    metadataKey: derive("blockvault/metadata/v1"),
    fingerprintKeys: [derive("blockvault/fingerprint-hash/v1"), derive("blockvault/fingerprint-prp/v1")],
  };
}

/** Content address of an index or manifest object: HMAC-SHA-256 of its bytes, hex. */
export function metadataId(secrets: VaultSecrets, bytes: Uint8Array): string {
  return createHmac("sha256", secrets.metadataKey).update(bytes).digest("hex");
}

/** True when `bytes` hash to `id` under the metadata key (constant-time compare). */
export function metadataIdMatches(secrets: VaultSecrets, bytes: Uint8Array, id: string): boolean {
  const actual = createHmac("sha256", secrets.metadataKey).update(bytes).digest();
  const expected = Buffer.from(id, "hex");
  return expected.length === actual.length && timingSafeEqual(actual, expected);
}

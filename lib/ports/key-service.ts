/**
 * Where a data key is used. It is bound into the wrapped key (the encryption context), so a key
 * wrapped for one purpose or vault cannot be unwrapped for another.
 */
export interface EncryptionContext {
  readonly vault: string;
  readonly purpose: "pack-data" | "dedup-key";
  readonly [extra: string]: string;
}

/** A freshly generated data key: use `plaintext`, store only `wrapped`. */
export interface DataKey {
  /** 32 random bytes, AES-256 key material. Never written to storage. */
  readonly plaintext: Buffer;
  /** The same key encrypted under the master key; opaque, safe to store. */
  readonly wrapped: Buffer;
  /** Identifies the master key that wrapped it (a KMS key ARN, a keyring key id). */
  readonly masterKeyId: string;
}

/** What {@link KeyService.rotate} changed: the master key material before and after. */
export interface KeyRotation {
  /** The key material that was current until the rotation (it still unwraps what it wrapped). */
  readonly previous: string;
  /** The key material new data keys are wrapped under from now on. */
  readonly current: string;
}

/**
 * Envelope encryption: a master key that never leaves the service wraps and unwraps 256-bit data
 * keys.
 *
 * Contract:
 * - `generateDataKey` returns a new random key each call; `wrapped` unwraps to `plaintext` only
 *   with an identical encryption context (same keys and values).
 * - `decryptDataKey` with a different context, a different master key, or altered bytes rejects
 *   with `KeyError` (never returns wrong key material).
 * - Throttling or an unreachable service is a `TransientError`.
 * The backup path calls `generateDataKey` and unwraps only the vault's dedup key; `decryptDataKey`
 * for pack data is for restore paths alone, which is what lets a writer role be denied it.
 */
export interface KeyService {
  generateDataKey(context: EncryptionContext): Promise<DataKey>;
  decryptDataKey(wrapped: Uint8Array, context: EncryptionContext): Promise<Buffer>;
  /**
   * Optional: makes new master key material current. Afterwards `generateDataKey` wraps under
   * the new material, while `decryptDataKey` still unwraps every key wrapped before, so nothing
   * already stored has to be rewritten. `previous` and `current` identify the key material (a
   * keyring key id, a KMS key material id) or, where the service names no versions, the key.
   * A service without this method cannot rotate; callers must check for it.
   */
  rotate?(): Promise<KeyRotation>;
}

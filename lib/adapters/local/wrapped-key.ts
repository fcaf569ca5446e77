import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { KeyError, ValidationError } from "../../errors.ts";
import type { EncryptionContext } from "../../ports/key-service.ts";

/**
 * The local keyring's wrapped data-key format, version 1 (77 bytes):
 *
 * | bytes | field                                                                  |
 * |-------|------------------------------------------------------------------------|
 * | 1     | format version, `0x01`                                                 |
 * | 16    | key-id fingerprint: first 16 bytes of SHA-256(`blockvault-keyring-id\0` + keyId) |
 * | 12    | random AES-GCM nonce                                                   |
 * | 32    | AES-256-GCM ciphertext of the 32-byte data key, under the master key   |
 * | 16    | GCM authentication tag                                                 |
 *
 * The additional authenticated data is the 17-byte header followed by the canonical encryption
 * context ({@link canonicalContext}), so changing the header, the context, the nonce or the
 * ciphertext makes the tag check fail. The fingerprint only exists to give a clear error when a
 * key wrapped by another keyring is presented; security rests on the tag alone.
 */
export const WRAPPED_KEY_VERSION = 1;
const FINGERPRINT_BYTES = 16;
const HEADER_BYTES = 1 + FINGERPRINT_BYTES;
const NONCE_BYTES = 12;
/** Data keys and master keys are both AES-256 keys. */
export const KEY_BYTES = 32;
const TAG_BYTES = 16;
/** Length of every version-1 wrapped key. */
export const WRAPPED_KEY_BYTES = HEADER_BYTES + NONCE_BYTES + KEY_BYTES + TAG_BYTES;

/** The 16-byte fingerprint of a keyring key id, as stored in wrapped keys. */
export function keyIdFingerprint(keyId: string): Buffer {
  return createHash("sha256")
    .update(`blockvault-keyring-id\0${keyId}`)
    .digest()
    .subarray(0, FINGERPRINT_BYTES);
}

/**
 * The encryption context as canonical bytes: JSON of its `[key, value]` pairs sorted by key (by
 * UTF-16 code unit, not locale). Pairs rather than an object, because JavaScript reorders
 * integer-like object keys. Any non-string value is a `ValidationError`: the port's type allows
 * only strings, and silently stringifying would let two different contexts collide.
 */
export function canonicalContext(context: EncryptionContext): Buffer {
  const pairs = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, value] of pairs) {
    if (typeof value !== "string") {
      throw new ValidationError(`encryption context value ${name} must be a string, got ${typeof value}`);
    }
  }
  return Buffer.from(JSON.stringify(pairs), "utf8");
}

/** Wraps `plaintext` (a data key) under `masterKey`, bound to `context`; see the format above. */
export function wrapKey(
  masterKey: Buffer,
  keyId: string,
  plaintext: Buffer,
  context: EncryptionContext,
): Buffer {
  const header = Buffer.concat([Buffer.of(WRAPPED_KEY_VERSION), keyIdFingerprint(keyId)]);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", masterKey, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.concat([header, canonicalContext(context)]));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, nonce, ciphertext, cipher.getAuthTag()]);
}

/**
 * The key-id fingerprint in a wrapped key's header, which tells a keyring holding several master
 * keys which one to try. A wrong length or format version is a `KeyError`; the fingerprint itself
 * is not authenticated here (the tag check in {@link unwrapKey} covers it).
 */
export function wrappedKeyFingerprint(wrapped: Uint8Array): Buffer {
  const bytes = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  if (bytes.length !== WRAPPED_KEY_BYTES) {
    throw new KeyError(
      `wrapped data key is malformed: ${bytes.length} bytes, expected ${WRAPPED_KEY_BYTES} (truncated or not a keyring-wrapped key)`,
    );
  }
  if (bytes[0] !== WRAPPED_KEY_VERSION) {
    throw new KeyError(`wrapped data key has unsupported format version ${bytes[0]}`);
  }
  return bytes.subarray(1, HEADER_BYTES);
}

/**
 * Unwraps a key made by {@link wrapKey}. Every failure is a `KeyError` that says which check
 * failed; no path returns key material that did not authenticate.
 */
export function unwrapKey(
  masterKey: Buffer,
  keyId: string,
  wrapped: Uint8Array,
  context: EncryptionContext,
): Buffer {
  const bytes = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  const header = bytes.subarray(0, HEADER_BYTES);
  if (!wrappedKeyFingerprint(bytes).equals(keyIdFingerprint(keyId))) {
    throw new KeyError(`wrapped data key was wrapped by a different master key, not keyring key ${keyId}`);
  }
  const nonce = bytes.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
  const ciphertext = bytes.subarray(HEADER_BYTES + NONCE_BYTES, HEADER_BYTES + NONCE_BYTES + KEY_BYTES);
  const tag = bytes.subarray(WRAPPED_KEY_BYTES - TAG_BYTES);
  try {
    const decipher = createDecipheriv("aes-256-gcm", masterKey, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.concat([header, canonicalContext(context)]));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (cause) {
    if (cause instanceof ValidationError) throw cause;
    throw new KeyError(
      `cannot unwrap data key with keyring key ${keyId}: the encryption context differs from the one it was wrapped with, the wrapped key was altered, or the master key is different`,
      { cause },
    );
  }
}

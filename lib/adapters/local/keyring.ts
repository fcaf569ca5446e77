import { randomBytes, randomUUID } from "node:crypto";
import { chmod, link, mkdir, open, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { AlreadyExistsError, ConflictError, KeyError } from "../../errors.ts";
import { type Clock, systemClock } from "../../ports/clock.ts";
import type { DataKey, EncryptionContext, KeyRotation, KeyService } from "../../ports/key-service.ts";
import { FileLock } from "./file-lock.ts";
import { errnoCode, translateFsError } from "./fs-errors.ts";
import { syncDirectory, writeDurably } from "./fs-io.ts";
import { KEY_BYTES, keyIdFingerprint, unwrapKey, wrapKey, wrappedKeyFingerprint } from "./wrapped-key.ts";

/** One master key of a keyring: its id and its 32 bytes. */
export interface MasterKey {
  readonly keyId: string;
  readonly masterKey: Uint8Array;
}

/**
 * A {@link KeyService} whose master keys live in a local keyring file instead of a KMS. Data keys
 * are wrapped with AES-256-GCM under the current (newest) master key, bound to the encryption
 * context; the format is documented in `wrapped-key.ts`. Older master keys, left by rotations,
 * only unwrap: the key-id fingerprint in each wrapped key says which one. Anyone who can read the
 * keyring file can decrypt the vault, which is why the file is created with mode 0600.
 */
export class LocalKeyService implements KeyService {
  /** The current key's id, reported as `masterKeyId` of every new data key. */
  readonly keyId: string;
  /** Every key id this service holds, oldest first; the last is {@link keyId}. */
  readonly keyIds: readonly string[];
  readonly #current: Buffer;
  /** Master keys by the hex of their key-id fingerprint, as found in wrapped keys. */
  readonly #byFingerprint = new Map<string, { readonly keyId: string; readonly key: Buffer }>();

  /**
   * @param keyId non-empty identifier of the current master key (stored in the keyring file).
   * @param masterKey exactly 32 bytes; copied, so the caller may wipe its buffer.
   * @param older earlier master keys, oldest first, kept to unwrap what they wrapped.
   */
  constructor(keyId: string, masterKey: Uint8Array, older: readonly MasterKey[] = []) {
    for (const entry of [...older, { keyId, masterKey }]) {
      if (typeof entry.keyId !== "string" || entry.keyId === "")
        throw new KeyError("keyring key id must be a non-empty string");
      if (entry.masterKey.byteLength !== KEY_BYTES) {
        throw new KeyError(
          `keyring master key must be ${KEY_BYTES} bytes, got ${entry.masterKey.byteLength}`,
        );
      }
      const fingerprint = keyIdFingerprint(entry.keyId).toString("hex");
      if (this.#byFingerprint.has(fingerprint))
        throw new KeyError(`keyring holds key id ${entry.keyId} twice`);
      this.#byFingerprint.set(fingerprint, { keyId: entry.keyId, key: Buffer.from(entry.masterKey) });
    }
    this.keyId = keyId;
    this.keyIds = [...older.map((k) => k.keyId), keyId];
    this.#current = this.#byFingerprint.get(keyIdFingerprint(keyId).toString("hex"))!.key;
  }

  /** A new random 32-byte data key, wrapped under the current master key and bound to `context`. */
  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const plaintext = randomBytes(KEY_BYTES);
    const wrapped = wrapKey(this.#current, this.keyId, plaintext, context);
    return { plaintext, wrapped, masterKeyId: this.keyId };
  }

  /**
   * Unwraps a key from {@link generateDataKey} with whichever of the keyring's master keys
   * wrapped it; `KeyError` unless that key is held and the context matches.
   */
  async decryptDataKey(wrapped: Uint8Array, context: EncryptionContext): Promise<Buffer> {
    const found = this.#byFingerprint.get(wrappedKeyFingerprint(wrapped).toString("hex"));
    if (!found) {
      throw new KeyError(
        `wrapped data key was wrapped by a different master key, none of keyring keys ${this.keyIds.join(", ")}`,
      );
    }
    return unwrapKey(found.key, found.keyId, wrapped, context);
  }

  /**
   * True when `wrapped` is a well-formed keyring-wrapped key naming a master key this service
   * does not hold: one a newer copy of the keyring file may have.
   */
  isForeign(wrapped: Uint8Array): boolean {
    try {
      return !this.#byFingerprint.has(wrappedKeyFingerprint(wrapped).toString("hex"));
    } catch {
      return false;
    }
  }
}

/**
 * A {@link LocalKeyService} bound to its keyring file, so that it can rotate: {@link rotate}
 * appends a master key to the file and only then starts wrapping with it. Because rotations only
 * ever add keys, a key wrapped under one this copy does not hold (another process rotated since
 * the file was read) triggers one re-read of the file before giving up.
 */
export class KeyringFileKeyService implements KeyService {
  readonly file: string;
  readonly #clock: Clock;
  #keys: LocalKeyService;

  /**
   * @param file the keyring file `keys` was read from or created as.
   * @param keys the keyring's keys as read.
   * @param clock stamps the `created` time of keys added by rotation.
   */
  constructor(file: string, keys: LocalKeyService, clock: Clock = systemClock) {
    this.file = file;
    this.#keys = keys;
    this.#clock = clock;
  }

  /** The current master key's id. */
  get keyId(): string {
    return this.#keys.keyId;
  }

  /** Every master key id held, oldest first. */
  get keyIds(): readonly string[] {
    return this.#keys.keyIds;
  }

  generateDataKey(context: EncryptionContext): Promise<DataKey> {
    return this.#keys.generateDataKey(context);
  }

  async decryptDataKey(wrapped: Uint8Array, context: EncryptionContext): Promise<Buffer> {
    if (this.#keys.isForeign(wrapped)) this.#keys = (await loadKeyring(this.file)).keyService;
    return this.#keys.decryptDataKey(wrapped, context);
  }

  /** Adds a new master key to the file (see {@link rotateKeyring}) and makes it current here. */
  async rotate(): Promise<KeyRotation> {
    const next = await rotateKeyring(this.file, this.#clock);
    this.#keys = next;
    return { previous: next.keyIds.at(-2)!, current: next.keyId };
  }
}

/** One master key as the keyring file stores it. */
export interface KeyringEntry {
  readonly keyId: string;
  /** Base64 of the 32-byte master key. */
  readonly masterKey: string;
  /** When the key was added, epoch milliseconds. */
  readonly created: number;
}

/** The keyring file's JSON content, as written since key rotation exists. */
export interface KeyringFile {
  readonly version: 2;
  /** Oldest first; the last is the current key, the others only unwrap. */
  readonly keys: readonly KeyringEntry[];
}

/** The first format: exactly one master key. Still read, never written. */
export interface KeyringFileV1 extends KeyringEntry {
  readonly version: 1;
}

/** A keyring read by {@link loadKeyring}. */
export interface LoadedKeyring {
  readonly keyService: LocalKeyService;
  readonly created: number;
  /**
   * True when the file is readable or writable by group or others (mode & 0o077). The keyring
   * still loads; the caller decides whether and how to warn, since a library must not print.
   */
  readonly insecureMode: boolean;
}

/** A new random master key, added at `now`. */
function newEntry(now: number): KeyringEntry {
  return {
    keyId: `keyring-${randomUUID()}`,
    masterKey: randomBytes(KEY_BYTES).toString("base64"),
    created: now,
  };
}

/** The key service holding every key of `content`, the last one current. */
function keyServiceOf(content: KeyringFile): LocalKeyService {
  const keys = content.keys.map((k) => ({ keyId: k.keyId, masterKey: Buffer.from(k.masterKey, "base64") }));
  const current = keys.at(-1)!;
  return new LocalKeyService(current.keyId, current.masterKey, keys.slice(0, -1));
}

/**
 * Writes `content` to `file` without a reader ever seeing a partial keyring: in full, fsynced and
 * given mode 0600 under a temporary name, then moved into place and the directory fsynced.
 * `create` hard-links, which fails on an existing file; `replace` renames over it.
 */
async function writeKeyringFile(
  file: string,
  content: KeyringFile,
  how: "create" | "replace",
): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${randomUUID()}.tmp`);
  try {
    await writeDurably(tmp, Buffer.from(`${JSON.stringify(content, null, 2)}\n`), 0o600);
    // Why: the umask can only remove bits, but an explicit chmod makes the mode exact.
    await chmod(tmp, 0o600);
    if (how === "replace") await rename(tmp, file);
    else await link(tmp, file);
    await syncDirectory(dir);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/**
 * Creates a keyring at `file` holding a new random master key, and returns its key service.
 * Create-only: an existing file is never overwritten (that would orphan every vault it protects),
 * it rejects with `AlreadyExistsError`. The file is written atomically with mode 0600 (see
 * {@link writeKeyringFile}). Missing parent directories are created with mode 0700.
 */
export async function createKeyring(file: string, clock: Clock = systemClock): Promise<LocalKeyService> {
  const content: KeyringFile = { version: 2, keys: [newEntry(clock.now())] };
  try {
    await mkdir(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
    await writeKeyringFile(file, content, "create");
  } catch (err) {
    if (errnoCode(err) === "EEXIST") {
      throw new AlreadyExistsError(`a keyring already exists at ${file}; refusing to overwrite it`, {
        cause: err,
      });
    }
    throw translateFsError(err, `create keyring ${file}`);
  }
  return keyServiceOf(content);
}

/** How long a rotation waits for another one (a rotation is one small file write). */
const ROTATION_LOCK_WAIT_MS = 2_000;

/**
 * Rotates the keyring at `file`: adds a new random master key, which becomes current, and keeps
 * every older one so that what they wrapped still unwraps. The file is rewritten in the version-2
 * format, atomically (temporary file, fsync, mode 0600, rename, directory fsync): a crash leaves
 * either the old keyring or the new one, never a keyring missing a key. Concurrent rotations are
 * serialised by a lock file beside the keyring, because two read-add-rename cycles racing would
 * drop one of the new keys, and with it every data key it wrapped; a held lock is a
 * `ConflictError` naming it once it was held for longer than a rotation takes; the lock of a
 * rotation killed midway is taken over. Returns the key service over all the keys.
 */
export async function rotateKeyring(file: string, clock: Clock = systemClock): Promise<LocalKeyService> {
  const lock = new FileLock(
    path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.rotate.lock`),
    ROTATION_LOCK_WAIT_MS,
  );
  await lock.acquire(`keyring ${file}`);
  try {
    const current = parseKeyring(file, (await readKeyring(file)).text);
    const content: KeyringFile = { version: 2, keys: [...current.keys, newEntry(clock.now())] };
    if (!(await lock.stillHeld()))
      throw new ConflictError(`the rotation of keyring ${file} lost its lock; try again`, {
        retryable: true,
      });
    await writeKeyringFile(file, content, "replace").catch((err: unknown) => {
      throw translateFsError(err, `rotate keyring ${file}`);
    });
    return keyServiceOf(content);
  } finally {
    await lock.release();
  }
}

/**
 * Reads the keyring at `file` (version 2, or the single-key version 1). A missing or unreadable
 * file and malformed content are `KeyError`s naming the path; a file open to group or others
 * loads but sets `insecureMode`.
 */
export async function loadKeyring(file: string): Promise<LoadedKeyring> {
  const { text, mode } = await readKeyring(file);
  const content = parseKeyring(file, text);
  return {
    keyService: keyServiceOf(content),
    created: content.keys[0]!.created,
    // Windows has no POSIX mode bits; what Node reports there says nothing about who can read.
    insecureMode: process.platform !== "win32" && (mode & 0o077) !== 0,
  };
}

/** The keyring file's text and mode, with file-system failures as `KeyError`s naming it. */
async function readKeyring(file: string): Promise<{ text: string; mode: number }> {
  try {
    const handle = await open(file, "r");
    try {
      const { mode } = await handle.stat();
      return { text: await handle.readFile("utf8"), mode };
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT" || code === "ENOTDIR") throw new KeyError(`no keyring at ${file}`, { cause: err });
    if (code === "EISDIR")
      throw new KeyError(`keyring ${file} is a directory, not a keyring file`, { cause: err });
    if (code === "EACCES" || code === "EPERM") {
      throw new KeyError(`keyring ${file} cannot be read: permission denied`, { cause: err });
    }
    throw translateFsError(err, `read keyring ${file}`);
  }
}

/**
 * Validates keyring JSON of either version, returning it as version 2; anything unexpected is a
 * `KeyError` naming the file and the field.
 */
function parseKeyring(file: string, text: string): KeyringFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new KeyError(`keyring ${file} is malformed: not valid JSON`, { cause });
  }
  const malformed = (why: string) => new KeyError(`keyring ${file} is malformed: ${why}`);
  if (!isObject(parsed)) throw malformed("not a JSON object");
  if (parsed.version === 1) return { version: 2, keys: [parseEntry(parsed, malformed)] };
  if (parsed.version !== 2)
    throw new KeyError(`keyring ${file} has unsupported version ${String(parsed.version)}`);
  const { keys } = parsed;
  if (!Array.isArray(keys) || keys.length === 0) throw malformed("keys must be a non-empty array");
  const entries = keys.map((entry: unknown, i) => {
    if (!isObject(entry)) throw malformed(`keys[${i}] is not a JSON object`);
    return parseEntry(entry, (why) => malformed(`keys[${i}].${why}`));
  });
  if (new Set(entries.map((e) => e.keyId)).size !== entries.length)
    throw malformed("keys must have distinct key ids");
  return { version: 2, keys: entries };
}

/** One key's fields, checked. */
function parseEntry(entry: Record<string, unknown>, malformed: (why: string) => KeyError): KeyringEntry {
  const { keyId, masterKey, created } = entry;
  if (typeof keyId !== "string" || keyId === "") throw malformed("keyId must be a non-empty string");
  if (typeof masterKey !== "string" || !isBase64Of(masterKey, KEY_BYTES)) {
    throw malformed(`masterKey must be base64 of ${KEY_BYTES} bytes`);
  }
  if (typeof created !== "number" || !Number.isSafeInteger(created))
    throw malformed("created must be an integer");
  return { keyId, masterKey, created };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Strict check: Node's base64 decoder skips junk, so compare the canonical re-encoding. */
function isBase64Of(text: string, bytes: number): boolean {
  const decoded = Buffer.from(text, "base64");
  return decoded.length === bytes && decoded.toString("base64") === text;
}

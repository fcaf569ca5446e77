import { randomBytes, randomUUID } from "node:crypto";
import { chmod, link, mkdir, open, unlink } from "node:fs/promises";
import path from "node:path";
import { AlreadyExistsError, KeyError } from "../../errors.ts";
import { type Clock, systemClock } from "../../ports/clock.ts";
import type { DataKey, EncryptionContext, KeyService } from "../../ports/key-service.ts";
import { errnoCode, translateFsError } from "./fs-errors.ts";
import { syncDirectory, writeDurably } from "./fs-io.ts";
import { KEY_BYTES, unwrapKey, wrapKey } from "./wrapped-key.ts";

/**
 * A {@link KeyService} whose master key lives in a local keyring file instead of a KMS. Data keys
 * are wrapped with AES-256-GCM under the master key, bound to the encryption context; the format
 * is documented in `wrapped-key.ts`. Anyone who can read the keyring file can decrypt the vault,
 * which is why the file is created with mode 0600.
 */
export class LocalKeyService implements KeyService {
  /** The keyring's key id, reported as `masterKeyId` of every data key. */
  readonly keyId: string;
  readonly #masterKey: Buffer;

  /**
   * @param keyId non-empty identifier of the master key (stored in the keyring file).
   * @param masterKey exactly 32 bytes; copied, so the caller may wipe its buffer.
   */
  constructor(keyId: string, masterKey: Uint8Array) {
    if (typeof keyId !== "string" || keyId === "")
      throw new KeyError("keyring key id must be a non-empty string");
    if (masterKey.byteLength !== KEY_BYTES) {
      throw new KeyError(`keyring master key must be ${KEY_BYTES} bytes, got ${masterKey.byteLength}`);
    }
    this.keyId = keyId;
    this.#masterKey = Buffer.from(masterKey);
  }

  /** A new random 32-byte data key and its wrapped form, bound to `context`. */
  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const plaintext = randomBytes(KEY_BYTES);
    const wrapped = wrapKey(this.#masterKey, this.keyId, plaintext, context);
    return { plaintext, wrapped, masterKeyId: this.keyId };
  }

  /** Unwraps a key from {@link generateDataKey}; `KeyError` unless master key and context match. */
  async decryptDataKey(wrapped: Uint8Array, context: EncryptionContext): Promise<Buffer> {
    return unwrapKey(this.#masterKey, this.keyId, wrapped, context);
  }
}

/** The keyring file's JSON content. */
export interface KeyringFile {
  readonly version: 1;
  readonly keyId: string;
  /** Base64 of the 32-byte master key. */
  readonly masterKey: string;
  /** When the keyring was created, epoch milliseconds. */
  readonly created: number;
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

/**
 * Creates a keyring at `file` holding a new random master key, and returns its key service.
 * Create-only: an existing file is never overwritten (that would orphan every vault it protects),
 * it rejects with `AlreadyExistsError`. The file is written in full, fsynced and given mode 0600
 * under a temporary name, then hard-linked into place, so no reader ever sees a partial keyring.
 * Missing parent directories are created with mode 0700.
 */
export async function createKeyring(file: string, clock: Clock = systemClock): Promise<LocalKeyService> {
  const masterKey = randomBytes(KEY_BYTES);
  const content: KeyringFile = {
    version: 1,
    keyId: `keyring-${randomUUID()}`,
    masterKey: masterKey.toString("base64"),
    created: clock.now(),
  };
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${randomUUID()}.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeDurably(tmp, Buffer.from(`${JSON.stringify(content, null, 2)}\n`), 0o600);
    // Why: the umask can only remove bits, but an explicit chmod makes the mode exact.
    await chmod(tmp, 0o600);
    try {
      await link(tmp, file);
    } catch (err) {
      if (errnoCode(err) === "EEXIST") {
        throw new AlreadyExistsError(`a keyring already exists at ${file}; refusing to overwrite it`, {
          cause: err,
        });
      }
      throw err;
    }
    await syncDirectory(dir);
  } catch (err) {
    throw translateFsError(err, `create keyring ${file}`);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  return new LocalKeyService(content.keyId, masterKey);
}

/**
 * Reads the keyring at `file`. A missing or unreadable file and malformed content are `KeyError`s
 * naming the path; a file open to group or others loads but sets `insecureMode`.
 */
export async function loadKeyring(file: string): Promise<LoadedKeyring> {
  let text: string;
  let mode: number;
  try {
    const handle = await open(file, "r");
    try {
      mode = (await handle.stat()).mode;
      text = await handle.readFile("utf8");
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
  const content = parseKeyring(file, text);
  return {
    keyService: new LocalKeyService(content.keyId, Buffer.from(content.masterKey, "base64")),
    created: content.created,
    // Windows has no POSIX mode bits; what Node reports there says nothing about who can read.
    insecureMode: process.platform !== "win32" && (mode & 0o077) !== 0,
  };
}

/** Validates keyring JSON; anything unexpected is a `KeyError` naming the file and the field. */
function parseKeyring(file: string, text: string): KeyringFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new KeyError(`keyring ${file} is malformed: not valid JSON`, { cause });
  }
  const malformed = (why: string) => new KeyError(`keyring ${file} is malformed: ${why}`);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw malformed("not a JSON object");
  const { version, keyId, masterKey, created } = parsed as Record<string, unknown>;
  if (version !== 1) throw new KeyError(`keyring ${file} has unsupported version ${String(version)}`);
  if (typeof keyId !== "string" || keyId === "") throw malformed("keyId must be a non-empty string");
  if (typeof masterKey !== "string" || !isBase64Of(masterKey, KEY_BYTES)) {
    throw malformed(`masterKey must be base64 of ${KEY_BYTES} bytes`);
  }
  if (typeof created !== "number" || !Number.isSafeInteger(created))
    throw malformed("created must be an integer");
  return { version, keyId, masterKey, created };
}

/** Strict check: Node's base64 decoder skips junk, so compare the canonical re-encoding. */
function isBase64Of(text: string, bytes: number): boolean {
  const decoded = Buffer.from(text, "base64");
  return decoded.length === bytes && decoded.toString("base64") === text;
}

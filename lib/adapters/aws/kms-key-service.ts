import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  type KMSClient,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
} from "@aws-sdk/client-kms";
import {
  AccessDeniedError,
  AlreadyExistsError,
  BlockvaultError,
  ConflictError,
  KeyError,
  NotFoundError,
  ValidationError,
} from "../../errors.ts";
import type { DataKey, EncryptionContext, KeyRotation, KeyService } from "../../ports/key-service.ts";
import { awsErrorCode, translateAwsError } from "./aws-errors.ts";

/**
 * What {@link KmsKeyService.rotate} reports. KMS rotates under the same key ARN, so `previous` and
 * `current` are key material ids where KMS reports them (`CurrentKeyMaterialId`), else the ARN.
 * KMS completes an on-demand rotation asynchronously: right after the call `current` may still
 * name the previous material; either way every data key wrapped before still decrypts.
 */
export interface KmsKeyRotation extends KeyRotation {
  /** The key rotated, as an ARN, whatever form the service was configured with. */
  readonly keyArn: string;
}

/** KMS refuses ciphertext blobs outside 1..6144 bytes as a malformed request, not a bad key. */
const MAX_CIPHERTEXT_BYTES = 6144;

/**
 * A {@link KeyService} over one customer-managed KMS key: data keys come from GenerateDataKey
 * (AES-256) and are unwrapped with Decrypt, both bound to the encryption context, which KMS
 * authenticates. Decrypt always names the key, so KMS refuses a key wrapped under another one
 * instead of silently using whichever key the blob names.
 *
 * Errors: a wrong context, a different key or altered bytes are `KeyError`s; a disabled key or one
 * pending deletion is a non-retryable `KeyError` naming the key; a key that does not exist a
 * `NotFoundError` naming it; throttling and KMS-side failures a `TransientError`.
 * An `AccessDeniedException` from Decrypt is also a `KeyError`: KMS answers it both when the
 * caller may not decrypt and when the blob names a key that is not this one or not reachable, and
 * the two cannot be told apart from the response. GenerateDataKey's stays an `AccessDeniedError`.
 */
export class KmsKeyService implements KeyService {
  /** The key as configured: key id, key ARN, alias name or alias ARN. */
  readonly keyId: string;
  readonly #kms: KMSClient;

  constructor(kms: KMSClient, keyId: string) {
    if (typeof keyId !== "string" || keyId === "")
      throw new KeyError("KMS key id must be a non-empty string");
    this.#kms = kms;
    this.keyId = keyId;
  }

  /** A new AES-256 data key from KMS; `masterKeyId` is the key ARN KMS reports. */
  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const what = `generate data key with KMS key ${this.keyId}`;
    try {
      const res = await this.#kms.send(
        new GenerateDataKeyCommand({
          KeyId: this.keyId,
          KeySpec: "AES_256",
          EncryptionContext: { ...context },
        }),
      );
      if (!res.Plaintext || !res.CiphertextBlob || !res.KeyId) {
        throw new KeyError(`${what}: KMS returned an incomplete data key`);
      }
      return {
        plaintext: Buffer.from(res.Plaintext),
        wrapped: Buffer.from(res.CiphertextBlob),
        masterKeyId: res.KeyId,
      };
    } catch (err) {
      throw translateKmsError(err, what, this.keyId);
    }
  }

  /** Unwraps a key made by {@link generateDataKey}; `KeyError` unless key and context match. */
  async decryptDataKey(wrapped: Uint8Array, context: EncryptionContext): Promise<Buffer> {
    const what = `decrypt data key with KMS key ${this.keyId}`;
    if (wrapped.byteLength === 0 || wrapped.byteLength > MAX_CIPHERTEXT_BYTES) {
      throw new KeyError(`${what}: a ${wrapped.byteLength}-byte blob is not a KMS-wrapped key`);
    }
    try {
      const res = await this.#kms.send(
        new DecryptCommand({
          CiphertextBlob: wrapped,
          KeyId: this.keyId,
          EncryptionContext: { ...context },
        }),
      );
      if (!res.Plaintext) throw new KeyError(`${what}: KMS returned no plaintext`);
      return Buffer.from(res.Plaintext);
    } catch (err) {
      if (awsErrorCode(err) === "AccessDeniedException") {
        throw new KeyError(
          `${what}: KMS refused: the wrapped key was made under a different or unreachable key, or this principal may not decrypt with it`,
          { cause: err },
        );
      }
      throw translateKmsError(err, what, this.keyId);
    }
  }

  /** New key material for this key (see {@link rotateKmsKey}); old data keys still decrypt. */
  rotate(): Promise<KmsKeyRotation> {
    return rotateKmsKey(this.#kms, this.keyId);
  }
}

/**
 * Rotates the key's material on demand (RotateKeyOnDemand): KMS keeps every earlier material
 * under the same ARN, so Decrypt with this key goes on unwrapping old data keys. The key is
 * resolved first, because RotateKeyOnDemand takes no alias. Not retried here: a repeated call
 * would rotate twice, and KMS limits on-demand rotations per key. A rotation already in progress
 * is a `ConflictError`; a key that cannot rotate on demand (asymmetric, HMAC, custom key store) a
 * `ValidationError`; the rotation limit a non-retryable `LIMIT_EXCEEDED` error.
 */
async function rotateKmsKey(kms: KMSClient, keyId: string): Promise<KmsKeyRotation> {
  const what = `rotate KMS key ${keyId}`;
  try {
    const before = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    const keyArn = before.KeyMetadata?.Arn;
    if (!keyArn) throw new KeyError(`${what}: KMS described no key ARN`);
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyArn }));
    const after = await kms.send(new DescribeKeyCommand({ KeyId: keyArn }));
    return {
      previous: before.KeyMetadata?.CurrentKeyMaterialId ?? keyArn,
      current: after.KeyMetadata?.CurrentKeyMaterialId ?? keyArn,
      keyArn,
    };
  } catch (err) {
    const code = awsErrorCode(err);
    if (code === "ConflictException") {
      throw new ConflictError(`${what}: a rotation of this key is already in progress`, { cause: err });
    }
    if (code === "UnsupportedOperationException") {
      throw new ValidationError(`${what}: this key does not support on-demand rotation`, { cause: err });
    }
    if (code === "LimitExceededException") {
      throw new BlockvaultError(`${what}: the key's limit of on-demand rotations is reached`, {
        cause: err,
        code: "LIMIT_EXCEEDED",
      });
    }
    throw translateKmsError(err, what, keyId);
  }
}

/** What {@link createVaultKey} needs to know. */
export interface VaultKeyOptions {
  /** Alias to point at the key, with or without the `alias/` prefix; none when absent. */
  readonly alias?: string;
  readonly description: string;
}

/**
 * Creates a symmetric customer-managed key (and its alias) for a vault, returning its ARN.
 * When the alias is taken, the new key is scheduled for deletion (KMS's shortest window, 7 days)
 * and the call rejects with `AlreadyExistsError` naming the alias.
 */
export async function createVaultKey(kms: KMSClient, options: VaultKeyOptions): Promise<string> {
  const alias = options.alias === undefined ? undefined : aliasName(options.alias);
  let arn: string | undefined;
  let keyId: string | undefined;
  try {
    const res = await kms.send(
      new CreateKeyCommand({
        Description: options.description,
        KeySpec: "SYMMETRIC_DEFAULT",
        KeyUsage: "ENCRYPT_DECRYPT",
      }),
    );
    arn = res.KeyMetadata?.Arn;
    keyId = res.KeyMetadata?.KeyId;
  } catch (err) {
    // KMS's LimitExceededException on CreateKey is the account's key quota: retrying cannot help.
    if (awsErrorCode(err) === "LimitExceededException") {
      throw new BlockvaultError("create KMS key: the account's KMS key quota is reached", {
        cause: err,
        code: "LIMIT_EXCEEDED",
      });
    }
    throw translateAwsError(err, "create KMS key");
  }
  if (!arn) throw new KeyError("create KMS key: KMS returned no key ARN");
  if (alias === undefined) return arn;
  try {
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: arn }));
  } catch (err) {
    // Why: a key nobody can find by name is only cost; schedule it away, best effort.
    // By key id: moto fails ScheduleKeyDeletion given an ARN, which AWS accepts.
    await kms
      .send(new ScheduleKeyDeletionCommand({ KeyId: keyId ?? arn, PendingWindowInDays: 7 }))
      .catch(() => {});
    if (awsErrorCode(err) === "AlreadyExistsException") {
      throw new AlreadyExistsError(`create KMS alias ${alias}: the alias already exists`, { cause: err });
    }
    throw translateAwsError(err, `create KMS alias ${alias} for ${arn}`);
  }
  return arn;
}

/** The ARN of the key `alias` points at, or `undefined` when no such alias exists. */
export async function findKeyByAlias(kms: KMSClient, alias: string): Promise<string | undefined> {
  const name = aliasName(alias);
  try {
    const res = await kms.send(new DescribeKeyCommand({ KeyId: name }));
    return res.KeyMetadata?.Arn;
  } catch (err) {
    if (awsErrorCode(err) === "NotFoundException") return undefined;
    throw translateAwsError(err, `find KMS key by alias ${name}`);
  }
}

/** `alias/<name>` from `name` or `alias/<name>`; KMS's alias rules, and `alias/aws/` is AWS's. */
function aliasName(alias: string): string {
  const name = alias.startsWith("alias/") ? alias : `alias/${alias}`;
  if (!/^alias\/[A-Za-z0-9/_-]{1,250}$/.test(name) || name.startsWith("alias/aws/")) {
    throw new ValidationError(`invalid KMS alias ${JSON.stringify(alias)}`);
  }
  return name;
}

/** Key-specific codes first; the generic translation for the rest. */
function translateKmsError(err: unknown, what: string, keyId: string): BlockvaultError {
  const code = awsErrorCode(err);
  if (err instanceof KeyError) return err;
  if (code === "NotFoundException") {
    return new NotFoundError(`${what}: KMS key ${keyId} does not exist`, { cause: err });
  }
  if (code === "DisabledException" || code === "KMSInvalidStateException") {
    return new KeyError(`${what}: KMS key ${keyId} is disabled or pending deletion (${code})`, {
      cause: err,
      retryable: false,
    });
  }
  if (code === "AccessDeniedException") {
    return new AccessDeniedError(`${what}: access to KMS key ${keyId} denied`, { cause: err });
  }
  return translateAwsError(err, what);
}

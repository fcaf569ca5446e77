import { createHash } from "node:crypto";
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  PutObjectRetentionCommand,
  RestoreObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import {
  AlreadyExistsError,
  ArchivedObjectError,
  BlockvaultError,
  ConflictError,
  IntegrityError,
  NotFoundError,
  RetainedObjectError,
  TransientError,
  ValidationError,
} from "../../errors.ts";
import {
  isArchiveClass,
  type ObjectArchive,
  type RestoreRequest,
  type RestoreState,
  STORAGE_CLASSES,
  type StorageClass,
} from "../../ports/object-archive.ts";
import {
  type ByteRange,
  checkRetention,
  extendedRetention,
  isValidObjectKey,
  type ObjectInfo,
  type ObjectRetention,
  type ObjectStore,
  RETENTION_UNSUPPORTED,
  RetentionMode,
} from "../../ports/object-store.ts";
import { awsErrorCode, awsHttpStatus, translateAwsError } from "./aws-errors.ts";
import {
  holds,
  lockFieldsOf,
  retentionOfHead,
  s3LockMode,
  s3RetainUntil,
  withBodyDigest,
} from "./s3-retention.ts";

/** Where an {@link S3ObjectStore} keeps its objects. */
export interface S3ObjectStoreOptions {
  readonly bucket: string;
  /** Key prefix every object is stored under (`vaults/v1` stores `a` at `vaults/v1/a`); none by default. */
  readonly prefix?: string;
  /** Storage class of every `put` that names none; S3's default (`STANDARD`) when absent. */
  readonly storageClass?: StorageClass;
}

/** Per-put options beyond the `ObjectStore` port. */
export interface S3PutOptions {
  readonly storageClass?: StorageClass;
}

/**
 * An {@link ObjectStore} (and {@link ObjectArchive}) over one S3 bucket, optionally under a key prefix.
 *
 * - `put` is create-only through a conditional write (`If-None-Match: *`); S3 answers 412 when the
 *   key exists. It sends a SHA-256 of the bytes computed here, so S3 rejects bytes damaged in
 *   transit and keeps the checksum with the object (surviving storage-class changes).
 * - A 409 `ConditionalRequestConflict` (another conditional write of the key in flight) is a
 *   retryable `TransientError`, not `AlreadyExistsError`: the competing write may still fail, and
 *   the retry decorator's next attempt sees 412 only if it landed.
 * - `get` checks the length of what came back: S3 serves a range reaching past the end as a short
 *   206 response, which the contract makes an `IntegrityError`.
 * - A HEAD response has no error body, so `head` on a missing bucket reads as a missing object;
 *   the message names the bucket either way.
 * - `setStorageClass` copies the object onto itself, which S3 limits to objects of 5 GB; the new
 *   version carries the old one's Object Lock retention.
 * - `retain` is S3 Object Lock on the current version (the bucket must have Object Lock on). It
 *   reads the retention first and only ever asks for a later date, never a shorter one or a
 *   weaker mode (S3 refuses those too, but an emulator may not). S3 changes a governance
 *   retention to compliance only for a caller allowed to bypass governance, which the deployment
 *   allows nobody; so the upgrade copies the object onto itself in compliance mode instead, and
 *   the governance version stays, noncurrent, until its own date. An archived object cannot be
 *   copied: it is extended in governance mode and `retain` reports that mode.
 * - `delete` refuses an object whose retention has not ended (`RetainedObjectError`): on a
 *   versioned bucket S3 would accept it and hide the retained version behind a delete marker.
 */
export class S3ObjectStore implements ObjectStore, ObjectArchive {
  readonly bucket: string;
  /** Normalised prefix: `""` or ending in `/`. */
  readonly prefix: string;
  readonly #s3: S3Client;
  readonly #storageClass: StorageClass | undefined;

  constructor(s3: S3Client, options: S3ObjectStoreOptions) {
    const prefix = options.prefix ?? "";
    const bare = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
    if (bare !== "" && !isValidObjectKey(bare)) {
      throw new ValidationError(`invalid S3 key prefix ${JSON.stringify(prefix)}`);
    }
    this.#s3 = s3;
    this.bucket = options.bucket;
    this.prefix = bare === "" ? "" : `${bare}/`;
    this.#storageClass = options.storageClass;
  }

  /** Stores `data` under `key`, create-only; `options.storageClass` overrides the store's default. */
  async put(key: string, data: Uint8Array, options: S3PutOptions = {}): Promise<void> {
    const what = this.#what("put object", key);
    const s3Key = this.#s3Key(key);
    const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const checksum = createHash("sha256").update(body).digest("base64");
    const storageClass = options.storageClass ?? this.#storageClass;
    try {
      await this.#s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: s3Key,
          Body: body,
          ContentLength: body.length,
          IfNoneMatch: "*",
          // The value is what S3 verifies and keeps; moto keeps it only when the algorithm is named too.
          ChecksumAlgorithm: "SHA256",
          ChecksumSHA256: checksum,
          ...(storageClass ? { StorageClass: storageClass } : {}),
        }),
      );
    } catch (err) {
      const code = awsErrorCode(err);
      if (code === "PreconditionFailed" || awsHttpStatus(err) === 412) {
        throw new AlreadyExistsError(`object ${key} already exists (${what})`, { cause: err });
      }
      if (code === "ConditionalRequestConflict") {
        throw new TransientError(`${what}: a concurrent write of the key is in flight`, { cause: err });
      }
      if (code === "BadDigest" || code === "XAmzContentChecksumMismatch" || code === "InvalidDigest") {
        throw new TransientError(`${what}: S3 received bytes that fail their checksum (${code})`, {
          cause: err,
        });
      }
      throw this.#translate(err, what, key);
    }
  }

  /** Reads the whole object, or exactly `range` of it; see {@link ObjectStore}. */
  async get(key: string, range?: ByteRange): Promise<Buffer> {
    const what = this.#what("get object", key);
    const s3Key = this.#s3Key(key);
    if (range !== undefined) checkRange(range);
    let res: GetObjectCommandOutput;
    try {
      res = await this.#s3.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: s3Key,
          ...(range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}),
        }),
      );
    } catch (err) {
      if (awsErrorCode(err) === "InvalidRange" || awsHttpStatus(err) === 416) {
        throw new IntegrityError(`${what}: range ${rangeText(range)} starts at or past the end`, {
          cause: err,
        });
      }
      throw this.#translate(err, what, key);
    }
    let bytes: Uint8Array;
    try {
      bytes = (await res.Body?.transformToByteArray()) ?? new Uint8Array(0);
    } catch (err) {
      throw this.#translate(err, `${what}: reading the body`, key);
    }
    const expected = range ? range.length : res.ContentLength;
    if (expected !== undefined && bytes.byteLength !== expected) {
      const total = /\/(\d+)$/.exec(res.ContentRange ?? "")?.[1];
      const size = total === undefined ? "" : ` of the ${total}-byte object`;
      throw new IntegrityError(
        `${what}: got ${bytes.byteLength} of ${expected} bytes for range ${rangeText(range)}${size}; the range reaches past the end or the body was cut short`,
      );
    }
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The object's key, size and last-modified time; `NotFoundError` if it is missing. */
  async head(key: string): Promise<ObjectInfo> {
    const res = await this.#head(key, "head object");
    return { key, size: res.ContentLength ?? 0, modified: res.LastModified?.getTime() };
  }

  /** Every object whose key starts with `prefix`, page by page; see {@link ObjectStore}. */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    if (prefix !== "" && !isValidObjectKey(`${prefix}x`)) {
      throw new ValidationError(`invalid object key prefix ${JSON.stringify(prefix)}`);
    }
    const what = `list objects s3://${this.bucket}/${this.prefix}${prefix}*`;
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.#s3.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: `${this.prefix}${prefix}`,
            ContinuationToken: token,
          }),
        );
      } catch (err) {
        throw translateAwsError(err, what);
      }
      for (const item of page.Contents ?? []) {
        const key = item.Key?.slice(this.prefix.length) ?? "";
        // Objects written by other tools under the prefix whose names no key can have are not ours.
        if (!item.Key?.startsWith(this.prefix) || !isValidObjectKey(key)) continue;
        yield { key, size: item.Size ?? 0, modified: item.LastModified?.getTime() };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** Removes the object; a missing key is success, a retained one `RetainedObjectError`. */
  async delete(key: string): Promise<void> {
    const what = this.#what("delete object", key);
    // A HEAD cannot tell a missing key from a missing bucket: the delete below then tells.
    const head = await this.#head(key, "delete object").catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    const held = head && retentionOfHead(head);
    if (held && held.until > Date.now()) {
      throw new RetainedObjectError(
        `${what}: under ${held.mode} retention until ${new Date(held.until).toISOString()}`,
      );
    }
    try {
      await this.#s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#s3Key(key) }));
    } catch (err) {
      throw this.#translate(err, what, key);
    }
  }

  /**
   * Extends the Object Lock retention of the object's current version to `until` in at least
   * `mode`, and returns what holds; see {@link ObjectStore} and the class notes.
   */
  async retain(key: string, until: number, mode: RetentionMode): Promise<ObjectRetention> {
    checkRetention(key, until, mode);
    const verb = `retain (${mode}) object`;
    const head = await this.#head(key, verb);
    const current = retentionOfHead(head);
    const wanted = extendedRetention(current, s3RetainUntil(until).getTime(), mode);
    if (current && holds(current, wanted)) return current;
    if (current?.mode === RetentionMode.Governance && wanted.mode === RetentionMode.Compliance) {
      if (!isArchiveClass(storageClassOf(head, this.#what(verb, key)))) {
        return this.#copyRetained(key, head, wanted, verb);
      }
      // An archived object cannot be copied: keep it the longer, in the mode it has.
      const governance = { until: wanted.until, mode: RetentionMode.Governance };
      if (!holds(current, governance)) await this.#putRetention(key, head, governance, verb);
      return governance;
    }
    await this.#putRetention(key, head, wanted, verb);
    return wanted;
  }

  async #putRetention(
    key: string,
    head: HeadObjectCommandOutput,
    retention: ObjectRetention,
    verb: string,
  ): Promise<void> {
    try {
      await this.#s3.send(
        new PutObjectRetentionCommand({
          Bucket: this.bucket,
          Key: this.#s3Key(key),
          // Why: the version looked at is the one retained, even if another is written meanwhile.
          ...(head.VersionId ? { VersionId: head.VersionId } : {}),
          Retention: { Mode: s3LockMode(retention.mode), RetainUntilDate: new Date(retention.until) },
        }),
      );
    } catch (err) {
      throw retentionError(err) ?? this.#translate(err, this.#what(verb, key), key);
    }
  }

  /** Copies the current version onto itself retained as `retention` (same bytes, class, checksum). */
  async #copyRetained(
    key: string,
    head: HeadObjectCommandOutput,
    retention: ObjectRetention,
    verb: string,
  ): Promise<ObjectRetention> {
    const what = this.#what(verb, key);
    const version = head.VersionId ? `?versionId=${encodeURIComponent(head.VersionId)}` : "";
    try {
      await this.#s3.send(
        withBodyDigest(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: this.#s3Key(key),
            CopySource: `${this.bucket}/${this.#s3Key(key)}${version}`,
            CopySourceIfMatch: head.ETag,
            MetadataDirective: "COPY",
            ChecksumAlgorithm: "SHA256",
            ...(head.StorageClass ? { StorageClass: head.StorageClass } : {}),
            ...lockFieldsOf(retention),
          }),
        ),
      );
    } catch (err) {
      if (awsErrorCode(err) === "PreconditionFailed") {
        throw new ConflictError(`${what}: the object changed while its retention was being raised`, {
          cause: err,
        });
      }
      throw this.#translate(err, what, key);
    }
    return retention;
  }

  /** The object's storage class (`STANDARD` when S3 reports none). */
  async storageClass(key: string): Promise<StorageClass> {
    return storageClassOf(await this.#head(key, "storage class of"), this.#what("storage class of", key));
  }

  /** Copies the object onto itself in `cls`, keeping its SHA-256 checksum; see {@link ObjectArchive}. */
  async setStorageClass(key: string, cls: StorageClass): Promise<void> {
    const what = this.#what(`set storage class ${cls} of`, key);
    if (!STORAGE_CLASSES.includes(cls)) throw new ValidationError(`${what}: unknown storage class`);
    const head = await this.#head(key, `set storage class ${cls} of`);
    if (storageClassOf(head, what) === cls) return;
    const retention = retentionOfHead(head);
    const copy = new CopyObjectCommand({
      Bucket: this.bucket,
      Key: this.#s3Key(key),
      CopySource: `${this.bucket}/${this.#s3Key(key)}`,
      // Why: a key deleted and stored again between the head and the copy is another object.
      CopySourceIfMatch: head.ETag,
      StorageClass: cls,
      MetadataDirective: "COPY",
      ChecksumAlgorithm: "SHA256",
      // Why: a version made by a copy has no retention unless the copy gives it one.
      ...lockFieldsOf(retention),
    });
    try {
      await this.#s3.send(retention ? withBodyDigest(copy) : copy);
    } catch (err) {
      const code = awsErrorCode(err);
      if (code === "ObjectNotInActiveTierError") {
        throw new ArchivedObjectError(`${what}: object is archived; restore it first`, { cause: err });
      }
      if (code === "PreconditionFailed") {
        throw new ConflictError(`${what}: the object changed while its class was being changed`, {
          cause: err,
        });
      }
      throw this.#translate(err, what, key);
    }
  }

  /** Asks S3 to restore an archived object for `request.days`; idempotent, see {@link ObjectArchive}. */
  async requestRestore(key: string, request: RestoreRequest): Promise<void> {
    const what = this.#what("restore object", key);
    const s3Key = this.#s3Key(key);
    if (!Number.isSafeInteger(request.days) || request.days < 1) {
      throw new ValidationError(`${what}: restore days must be a whole number >= 1, got ${request.days}`);
    }
    try {
      await this.#s3.send(
        new RestoreObjectCommand({
          Bucket: this.bucket,
          Key: s3Key,
          RestoreRequest: { Days: request.days, GlacierJobParameters: { Tier: request.tier } },
        }),
      );
    } catch (err) {
      const code = awsErrorCode(err);
      if (code === "RestoreAlreadyInProgress") return;
      // S3 refuses to restore an object that is not archived: it is readable already.
      if (code === "InvalidObjectState" && (await this.restoreState(key)) === "online") return;
      if (code === "InvalidObjectState") {
        throw new BlockvaultError(`${what}: S3 refused the restore (${code})`, { cause: err });
      }
      throw this.#translate(err, what, key);
    }
  }

  /** The object's restore state, from HeadObject's storage class and `x-amz-restore` header. */
  async restoreState(key: string): Promise<RestoreState> {
    const head = await this.#head(key, "restore state of");
    if (!isArchiveClass(storageClassOf(head, this.#what("restore state of", key)))) return "online";
    const ongoing = /ongoing-request="(true|false)"/.exec(head.Restore ?? "")?.[1];
    if (ongoing === "true") return "restoring";
    return ongoing === "false" ? "restored" : "archived";
  }

  async #head(key: string, verb: string): Promise<HeadObjectCommandOutput> {
    const what = this.#what(verb, key);
    try {
      return await this.#s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.#s3Key(key) }));
    } catch (err) {
      throw this.#translate(err, what, key);
    }
  }

  /** Validates `key` and maps it to its S3 key; the only way a key becomes an S3 key. */
  #s3Key(key: string): string {
    if (!isValidObjectKey(key)) throw new ValidationError(`invalid object key ${JSON.stringify(key)}`);
    return `${this.prefix}${key}`;
  }

  #what(verb: string, key: string): string {
    return `${verb} ${key} (s3://${this.bucket}/${this.prefix}${key})`;
  }

  /** Codes whose meaning is the object's, before the generic translation. */
  #translate(err: unknown, what: string, key: string): BlockvaultError {
    const code = awsErrorCode(err);
    if (code === "NoSuchKey" || (code === "NotFound" && awsHttpStatus(err) === 404)) {
      return new NotFoundError(`${what}: object ${key} not found`, { cause: err });
    }
    // Checked here because the generic translation would read its 403 as access denied.
    if (code === "InvalidObjectState") {
      return new ArchivedObjectError(`${what}: object is archived; restore it first`, { cause: err });
    }
    return translateAwsError(err, what);
  }
}

/**
 * The error for a bucket without Object Lock (created before it, or by hand): its objects cannot
 * carry retention at all. `RETENTION_UNSUPPORTED` lets callers tell that from a refusal.
 */
function retentionError(err: unknown): BlockvaultError | undefined {
  const message = err instanceof Error ? err.message : "";
  if (awsErrorCode(err) !== "InvalidRequest" || !/object ?lock/i.test(message)) return undefined;
  return new BlockvaultError(
    `the vault's bucket has no Object Lock, so its objects cannot carry retention (${message})`,
    { cause: err, code: RETENTION_UNSUPPORTED },
  );
}

function storageClassOf(head: HeadObjectCommandOutput, what: string): StorageClass {
  const cls = head.StorageClass ?? "STANDARD";
  const known = STORAGE_CLASSES.find((c) => c === cls);
  if (known === undefined) {
    throw new BlockvaultError(`${what}: storage class ${cls} is not one blockvault manages`, {
      code: "UNSUPPORTED_STORAGE_CLASS",
    });
  }
  return known;
}

/** Refuses ranges the port does not allow: negative, fractional, empty or absurdly large. */
function checkRange(range: ByteRange): void {
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 1) {
    throw new ValidationError(`invalid byte range offset=${offset} length=${length}`);
  }
}

function rangeText(range: ByteRange | undefined): string {
  return range ? `${range.offset}+${range.length}` : "(whole object)";
}

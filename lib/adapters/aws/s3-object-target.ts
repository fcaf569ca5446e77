import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { AlreadyExistsError, BlockvaultError, ValidationError } from "../../errors.ts";
import type { RestoreTarget } from "../../ports/restore-target.ts";
import { mapLimit } from "../../util/concurrency.ts";
import { Semaphore } from "../../util/semaphore.ts";
import { awsErrorCode, awsHttpStatus, translateAwsError } from "./aws-errors.ts";
import { parseS3Url } from "./s3-image-source.ts";

const MIB = 1024 * 1024;
/** S3's smallest part (all but the last) and most parts in one upload. */
const MIN_PART = 5 * MIB;
const MAX_PARTS = 10_000;

/** Options of {@link openS3ObjectTarget}. */
export interface S3ObjectTargetOptions {
  /** Replace an object already at the key. */
  readonly force?: boolean;
  /** Part size (default 16 MiB, at least 5 MiB; raised so the image fits in 10,000 parts). */
  readonly partSize?: number;
  /** Part uploads in flight at once (default 8). */
  readonly concurrency?: number;
}

/** One part of the upload: its bytes while they arrive, then what CompleteMultipartUpload needs. */
interface Part {
  buf: Buffer | undefined;
  filled: number;
  done: CompletedPart | undefined;
}

/**
 * Restores into a new S3 object (`s3://bucket/key`) through a multipart upload. Writes land in
 * part-sized buffers; a part is uploaded as soon as every byte of it has been written, and on
 * commit the remaining parts go up with zeros in the holes, then the upload is completed, which
 * is when the object appears. An existing key is refused (checked at open, and again atomically
 * at completion) unless `force`. Abort cancels the multipart upload so no parts are left billed.
 *
 * Memory: parts written only partly are held until complete or until commit. The engine writes in
 * pack order, so for a long incremental chain this can approach the image size.
 */
export async function openS3ObjectTarget(
  client: S3Client,
  url: string,
  size: number,
  options: S3ObjectTargetOptions = {},
): Promise<RestoreTarget> {
  const object = { ...parseS3Url(url), url };
  if (!Number.isSafeInteger(size) || size <= 0) throw new ValidationError(`invalid restore size ${size}`);
  const partSize = choosePartSize(size, options.partSize);
  const force = options.force ?? false;
  if (!force) await refuseExisting(client, object);
  const uploadId = await startUpload(client, object);
  return new S3MultipartTarget(client, { ...object, uploadId }, size, {
    partSize,
    force,
    concurrency: options.concurrency ?? 8,
  });
}

/** Where the object goes: bucket, key, and the URL messages name it by. */
interface S3Object {
  readonly bucket: string;
  readonly key: string;
  readonly url: string;
}

/** The requested part size, raised so the image fits in S3's 10,000 parts. */
function choosePartSize(size: number, requested = 16 * MIB): number {
  if (!Number.isSafeInteger(requested) || requested < MIN_PART) {
    throw new ValidationError(`S3 part size must be at least 5 MiB, got ${requested}`);
  }
  return Math.max(requested, Math.ceil(size / MAX_PARTS / MIB) * MIB);
}

/** Refuses a key that already holds an object (checked again, atomically, at completion). */
async function refuseExisting(client: S3Client, { bucket, key, url }: S3Object): Promise<void> {
  const exists = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => true,
    (err: unknown) => {
      if (awsHttpStatus(err) === 404) return false;
      throw translateAwsError(err, `check restore target ${url}`);
    },
  );
  if (exists)
    throw new AlreadyExistsError(`restore target ${url} already exists (use --force to replace it)`);
}

async function startUpload(client: S3Client, { bucket, key, url }: S3Object): Promise<string> {
  const created = await client
    .send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: "CRC32" }))
    .catch((err: unknown) => {
      throw translateAwsError(err, `start upload of restore target ${url}`);
    });
  return created.UploadId!;
}

/** The multipart upload a restore writes into; see {@link openS3ObjectTarget}. */
class S3MultipartTarget implements RestoreTarget {
  readonly description: string;
  readonly #client: S3Client;
  readonly #upload: S3Object & { readonly uploadId: string };
  readonly #size: number;
  readonly #partSize: number;
  readonly #force: boolean;
  readonly #parts: Part[];
  readonly #limit: Semaphore;
  readonly #inFlight = new Set<Promise<void>>();
  #state: "open" | "committing" | "committed" | "aborted" = "open";
  #aborting: Promise<void> | undefined;

  constructor(
    client: S3Client,
    upload: S3Object & { readonly uploadId: string },
    size: number,
    options: { partSize: number; force: boolean; concurrency: number },
  ) {
    this.description = upload.url;
    this.#client = client;
    this.#upload = upload;
    this.#size = size;
    this.#partSize = options.partSize;
    this.#force = options.force;
    this.#limit = new Semaphore(options.concurrency);
    this.#parts = Array.from({ length: Math.ceil(size / options.partSize) }, () => ({
      buf: undefined,
      filled: 0,
      done: undefined,
    }));
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    const { url } = this.#upload;
    if (this.#state !== "open")
      throw new BlockvaultError(`restore target ${url} is ${this.#state}; cannot write`);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + data.length > this.#size) {
      throw new ValidationError(
        `write of ${data.length} bytes at ${offset} is outside ${url} (${this.#size} bytes)`,
      );
    }
    const uploads: Promise<void>[] = [];
    for (let at = 0; at < data.length; ) {
      const p = Math.floor((offset + at) / this.#partSize);
      const within = offset + at - p * this.#partSize;
      const n = Math.min(this.#partLength(p) - within, data.length - at);
      if (this.#fill(p, within, data.subarray(at, at + n))) uploads.push(this.#uploadFull(p));
      at += n;
    }
    // Waiting for the uploads holds the engine back while S3 is slower than the vault.
    await Promise.all(uploads);
  }

  async commit(): Promise<string> {
    if (this.#state !== "open") {
      throw new BlockvaultError(`restore target ${this.#upload.url} is ${this.#state}; cannot commit`);
    }
    this.#state = "committing";
    await Promise.all(this.#inFlight);
    await this.#uploadRest();
    await this.#complete();
    this.#state = "committed";
    return this.#upload.url;
  }

  abort(): Promise<void> {
    if (this.#state === "committed") return Promise.resolve();
    this.#state = "aborted";
    this.#aborting ??= this.#cancelUpload();
    const aborting = this.#aborting;
    // A failed abort may be tried again.
    aborting.catch(() => {
      this.#aborting = undefined;
    });
    return aborting;
  }

  #partLength(p: number): number {
    return Math.min(this.#partSize, this.#size - p * this.#partSize);
  }

  /** Copies bytes into part `p` at `within`; true once every byte of the part is in. */
  #fill(p: number, within: number, bytes: Uint8Array): boolean {
    const part = this.#parts[p]!;
    const length = this.#partLength(p);
    if (part.done || part.filled + bytes.length > length) {
      throw new ValidationError(`overlapping writes to part ${p + 1} of restore target ${this.#upload.url}`);
    }
    part.buf ??= Buffer.alloc(length);
    part.buf.set(bytes, within);
    part.filled += bytes.length;
    // Writes are disjoint (the port's contract), so a full count means every byte is in.
    return part.filled === length;
  }

  #uploadFull(p: number): Promise<void> {
    const part = this.#parts[p]!;
    const body = part.buf!;
    part.buf = undefined;
    return this.#uploadPart(p, body);
  }

  /** The parts not uploaded yet, with zeros where nothing was written (the holes). */
  async #uploadRest(): Promise<void> {
    const zeros = Buffer.alloc(this.#partSize);
    const rest = this.#parts.map((part, p) => ({ part, p })).filter(({ part }) => !part.done);
    await mapLimit(rest, this.#limit.limit, ({ part, p }) =>
      this.#uploadPart(p, part.buf ?? zeros.subarray(0, this.#partLength(p))),
    );
  }

  #uploadPart(p: number, body: Buffer): Promise<void> {
    const { bucket, key, uploadId, url } = this.#upload;
    const sending = this.#limit.run(async () => {
      const command = new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: p + 1,
        Body: body,
        ContentLength: body.length,
        ChecksumAlgorithm: "CRC32",
      });
      const sent = await this.#client.send(command).catch((err: unknown) => {
        throw translateAwsError(err, `upload part ${p + 1} of restore target ${url}`);
      });
      this.#parts[p]!.done = { PartNumber: p + 1, ETag: sent.ETag, ChecksumCRC32: sent.ChecksumCRC32 };
    });
    this.#inFlight.add(sending);
    const forget = () => this.#inFlight.delete(sending);
    sending.then(forget, forget);
    return sending;
  }

  /** Completes the upload: the object appears, unless one appeared meanwhile (without `force`). */
  async #complete(): Promise<void> {
    const { bucket, key, uploadId, url } = this.#upload;
    const command = new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: this.#parts.map((part) => part.done!) },
      ...(this.#force ? {} : { IfNoneMatch: "*" }),
    });
    await this.#client.send(command).catch((err: unknown) => {
      if (awsErrorCode(err) === "PreconditionFailed") {
        throw new AlreadyExistsError(`restore target ${url} appeared during the restore; not replaced`, {
          cause: err,
        });
      }
      throw translateAwsError(err, `complete restore target ${url}`);
    });
  }

  /** Waits for parts in flight, then cancels the upload so that no parts are left billed. */
  async #cancelUpload(): Promise<void> {
    const { bucket, key, uploadId, url } = this.#upload;
    await Promise.allSettled(this.#inFlight);
    await this.#client
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
      .catch((err: unknown) => {
        if (awsErrorCode(err) === "NoSuchUpload") return;
        throw translateAwsError(err, `abort upload of restore target ${url}`);
      });
  }
}

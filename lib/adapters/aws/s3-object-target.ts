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
  const { bucket, key } = parseS3Url(url);
  if (!Number.isSafeInteger(size) || size <= 0) throw new ValidationError(`invalid restore size ${size}`);
  const requested = options.partSize ?? 16 * MIB;
  if (!Number.isSafeInteger(requested) || requested < MIN_PART) {
    throw new ValidationError(`S3 part size must be at least 5 MiB, got ${requested}`);
  }
  const partSize = Math.max(requested, Math.ceil(size / MAX_PARTS / MIB) * MIB);
  const force = options.force ?? false;
  if (!force) {
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
  const created = await client
    .send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: "CRC32" }))
    .catch((err: unknown) => {
      throw translateAwsError(err, `start upload of restore target ${url}`);
    });
  const uploadId = created.UploadId!;
  const parts: Part[] = Array.from({ length: Math.ceil(size / partSize) }, () => ({
    buf: undefined,
    filled: 0,
    done: undefined,
  }));
  const partLength = (p: number) => Math.min(partSize, size - p * partSize);
  const limit = new Semaphore(options.concurrency ?? 8);
  const inFlight = new Set<Promise<void>>();
  let state: "open" | "committing" | "committed" | "aborted" = "open";
  let aborting: Promise<void> | undefined;

  const upload = (p: number, body: Buffer): Promise<void> => {
    const sending = limit.run(async () => {
      const r = await client
        .send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: p + 1,
            Body: body,
            ContentLength: body.length,
            ChecksumAlgorithm: "CRC32",
          }),
        )
        .catch((err: unknown) => {
          throw translateAwsError(err, `upload part ${p + 1} of restore target ${url}`);
        });
      parts[p]!.done = { PartNumber: p + 1, ETag: r.ETag, ChecksumCRC32: r.ChecksumCRC32 };
    });
    inFlight.add(sending);
    const forget = () => inFlight.delete(sending);
    sending.then(forget, forget);
    return sending;
  };

  return {
    description: url,
    async write(offset, data) {
      if (state !== "open") throw new BlockvaultError(`restore target ${url} is ${state}; cannot write`);
      if (!Number.isSafeInteger(offset) || offset < 0 || offset + data.length > size) {
        throw new ValidationError(
          `write of ${data.length} bytes at ${offset} is outside ${url} (${size} bytes)`,
        );
      }
      const uploads: Promise<void>[] = [];
      for (let at = 0; at < data.length; ) {
        const p = Math.floor((offset + at) / partSize);
        const within = offset + at - p * partSize;
        const n = Math.min(partLength(p) - within, data.length - at);
        const part = parts[p]!;
        if (part.done || part.filled + n > partLength(p)) {
          throw new ValidationError(`overlapping writes to part ${p + 1} of restore target ${url}`);
        }
        part.buf ??= Buffer.alloc(partLength(p));
        part.buf.set(data.subarray(at, at + n), within);
        part.filled += n;
        // Writes are disjoint (the port's contract), so a full count means every byte is in.
        if (part.filled === partLength(p)) {
          const body = part.buf;
          part.buf = undefined;
          uploads.push(upload(p, body));
        }
        at += n;
      }
      // Waiting for the uploads holds the engine back while S3 is slower than the vault.
      await Promise.all(uploads);
    },
    async commit() {
      if (state !== "open") throw new BlockvaultError(`restore target ${url} is ${state}; cannot commit`);
      state = "committing";
      await Promise.all(inFlight);
      const zeros = Buffer.alloc(partSize);
      await mapLimit(
        parts.map((part, p) => ({ part, p })).filter(({ part }) => !part.done),
        limit.limit,
        ({ part, p }) => upload(p, part.buf ?? zeros.subarray(0, partLength(p))),
      );
      await client
        .send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts.map((part) => part.done!) },
            ...(force ? {} : { IfNoneMatch: "*" }),
          }),
        )
        .catch((err: unknown) => {
          if (awsErrorCode(err) === "PreconditionFailed") {
            throw new AlreadyExistsError(`restore target ${url} appeared during the restore; not replaced`, {
              cause: err,
            });
          }
          throw translateAwsError(err, `complete restore target ${url}`);
        });
      state = "committed";
      return url;
    },
    abort() {
      if (state === "committed") return Promise.resolve();
      state = "aborted";
      aborting ??= (async () => {
        await Promise.allSettled(inFlight);
        await client
          .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
          .catch((err: unknown) => {
            if (awsErrorCode(err) === "NoSuchUpload") return;
            throw translateAwsError(err, `abort upload of restore target ${url}`);
          });
      })();
      // A failed abort may be tried again.
      aborting.catch(() => {
        aborting = undefined;
      });
      return aborting;
    },
  };
}

import { GetObjectCommand, HeadBucketCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { SourceError, ValidationError } from "../../errors.ts";
import { hasVhdCookie, parseVhdFooter, VHD_FOOTER_SIZE, VhdDiskType } from "../../formats/vhd.ts";
import type { ChangedRange, VolumeSource } from "../../ports/volume-source.ts";
import { Semaphore } from "../../util/semaphore.ts";
import { awsErrorCode, awsHttpStatus, translateAwsError } from "./aws-errors.ts";

/** A bucket and key, as in `s3://bucket/key`. */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

/**
 * Parses `s3://bucket/key` (the key may contain slashes).
 *
 * @throws ValidationError when the URL has another scheme, no bucket or no key.
 */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw new ValidationError(`"${url}" is not an S3 URL of the form s3://bucket/key`);
  return { bucket: match[1]!, key: match[2]! };
}

/** Options of {@link openS3ImageSource}. */
export interface S3ImageSourceOptions {
  /** A read longer than this is split into ranged GETs of this size (default 8 MiB). */
  readonly partSize?: number;
  /** Ranged GETs in flight at once, across all reads of the source (default 8). */
  readonly concurrency?: number;
}

/**
 * Opens a disk image stored as an S3 object (`s3://bucket/key`) as a {@link VolumeSource}: a raw
 * image, or a fixed VHD whose footer is then hidden. Every read is pinned to the object version
 * seen at open (its VersionId when the bucket is versioned, and its ETag), so an object replaced
 * mid-backup fails the read instead of mixing two images. `sourceRef` names that version:
 * a later backup of the same, unchanged object reads nothing.
 *
 * @param client - an S3 client (see `s3Client`) able to read the object.
 * @throws SourceError naming the URL when the bucket or object is missing, access is denied, the
 *   object is empty, or it is a VHD that is not a valid fixed one.
 */
export async function openS3ImageSource(
  client: S3Client,
  url: string,
  options: S3ImageSourceOptions = {},
): Promise<VolumeSource> {
  const where = parseS3Url(url);
  const head = await client
    .send(new HeadObjectCommand({ Bucket: where.bucket, Key: where.key }))
    .catch(async (err: unknown) => {
      throw await headError(client, err, where, url);
    });
  const objectSize = head.ContentLength ?? 0;
  if (objectSize === 0) throw new SourceError(`image is empty (0 bytes): ${url}`);
  if (!head.ETag)
    throw new SourceError(`${url}: S3 returned no ETag, so reads cannot be pinned to one version`);
  const source = new S3ImageSource(client, url, where, objectSize, head.ETag, head.VersionId, options);
  await source.detectVhd();
  return source;
}

/** A HeadObject failure as a SourceError; its 404 has no body, so a second call tells which is missing. */
async function headError(
  client: S3Client,
  err: unknown,
  where: S3Location,
  url: string,
): Promise<SourceError> {
  if (awsHttpStatus(err) === 404) {
    const bucketExists = await client.send(new HeadBucketCommand({ Bucket: where.bucket })).then(
      () => true,
      (e: unknown) => awsHttpStatus(e) !== 404,
    );
    return new SourceError(bucketExists ? `image not found: ${url}` : `bucket does not exist: ${url}`, {
      cause: err,
    });
  }
  return s3SourceError(err, url, "open image");
}

/** Any other S3 failure as a SourceError naming the URL, keeping whether to retry. */
function s3SourceError(err: unknown, url: string, action: string): SourceError {
  if (err instanceof SourceError) return err;
  const code = awsErrorCode(err);
  if (code === "NoSuchKey" || code === "NoSuchVersion") {
    return new SourceError(`image vanished while being read: ${url}`, { cause: err });
  }
  if (code === "PreconditionFailed") {
    return new SourceError(`image changed while being read: ${url}; back it up again`, { cause: err });
  }
  const translated = translateAwsError(err, `${action} ${url}`);
  return new SourceError(translated.message, { cause: err, retryable: translated.retryable });
}

const VHD_KINDS: Readonly<Record<number, string>> = {
  [VhdDiskType.Dynamic]: "dynamic",
  [VhdDiskType.Differencing]: "differencing",
};

class S3ImageSource implements VolumeSource {
  readonly description: string;
  size: number;
  format = "raw";
  readonly sourceRef: string;
  readonly #client: S3Client;
  readonly #where: S3Location;
  readonly #etag: string;
  readonly #versionId: string | undefined;
  readonly #partSize: number;
  readonly #limit: Semaphore;
  #closed = false;

  constructor(
    client: S3Client,
    url: string,
    where: S3Location,
    objectSize: number,
    etag: string,
    versionId: string | undefined,
    options: S3ImageSourceOptions,
  ) {
    this.#client = client;
    this.description = url;
    this.#where = where;
    this.size = objectSize;
    this.#etag = etag;
    this.#versionId = versionId;
    this.#partSize = options.partSize ?? 8 * 1024 * 1024;
    if (!Number.isSafeInteger(this.#partSize) || this.#partSize < 1) {
      throw new ValidationError(`part size must be a positive integer, got ${this.#partSize}`);
    }
    this.#limit = new Semaphore(options.concurrency ?? 8);
    // The URL too: the same ETag on another object is not a promise the bytes are the parent's.
    this.sourceRef = `${url}?${versionId ? `versionId=${versionId}&` : ""}etag=${etag.replaceAll('"', "")}`;
  }

  /** Hides a fixed VHD's footer; refuses other VHD kinds and corrupt footers, like local images. */
  async detectVhd(): Promise<void> {
    if (this.size < VHD_FOOTER_SIZE) return;
    const tail = Buffer.alloc(VHD_FOOTER_SIZE);
    await this.#get(this.size - VHD_FOOTER_SIZE, tail);
    if (!hasVhdCookie(tail)) return;
    const footer = parseVhdFooter(tail);
    const url = this.description;
    if (footer.checksum !== footer.computedChecksum) throw new SourceError(`corrupt VHD footer in ${url}`);
    if (footer.diskType !== VhdDiskType.Fixed) {
      const kind = VHD_KINDS[footer.diskType] ?? `type ${footer.diskType}`;
      throw new SourceError(`${kind} VHD is not supported: ${url}; convert it to a fixed VHD first`);
    }
    const diskSize = this.size - VHD_FOOTER_SIZE;
    if (footer.currentSize !== BigInt(diskSize)) {
      throw new SourceError(
        `fixed VHD ${url} is inconsistent: footer says ${footer.currentSize} bytes but the object holds ${diskSize}`,
      );
    }
    this.size = diskSize;
    this.format = "vhd-fixed";
  }

  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new ValidationError(`invalid read of ${this.description}: offset ${offset}, length ${length}`);
    }
    if (this.#closed) throw new SourceError(`image ${this.description} is closed`);
    // Clipping at `size` is also what keeps a VHD's footer out of the data.
    const n = Math.max(0, Math.min(length, this.size - offset));
    if (into && into.length < n)
      throw new ValidationError(`read buffer of ${into.length} bytes is smaller than ${n}`);
    const out = into ? into.subarray(0, n) : Buffer.allocUnsafe(n);
    const parts: Promise<void>[] = [];
    for (let at = 0; at < n; at += this.#partSize) {
      parts.push(this.#get(offset + at, out.subarray(at, Math.min(n, at + this.#partSize))));
    }
    // Wait for every part, so no GET is still writing into `into` once the caller sees an error.
    const results = await Promise.allSettled(parts);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    return out;
  }

  /** One ranged GET of exactly `into.length` bytes at `offset`, streamed into `into`. */
  #get(offset: number, into: Buffer): Promise<void> {
    return this.#limit.run(async () => {
      try {
        const r = await this.#client.send(
          new GetObjectCommand({
            Bucket: this.#where.bucket,
            Key: this.#where.key,
            Range: `bytes=${offset}-${offset + into.length - 1}`,
            IfMatch: this.#etag,
            ...(this.#versionId ? { VersionId: this.#versionId } : {}),
          }),
        );
        let at = 0;
        for await (const chunk of (r.Body ?? []) as AsyncIterable<Uint8Array>) {
          if (at + chunk.length > into.length)
            throw new SourceError(`${this.description}: S3 sent too many bytes`);
          into.set(chunk, at);
          at += chunk.length;
        }
        if (at !== into.length) {
          throw new SourceError(
            `${this.description}: got ${at} of ${into.length} bytes at offset ${offset}; the transfer was cut short`,
            { retryable: true },
          );
        }
      } catch (err) {
        throw s3SourceError(err, this.description, "read image");
      }
    });
  }

  /**
   * S3 tracks no block-level changes, but it knows when nothing changed: the same object version
   * (same URL, version and ETag) as the parent point's means no range differs. Otherwise
   * undefined, and the engine reads everything.
   */
  async changedRanges(parentRef: string): Promise<ChangedRange[] | undefined> {
    return parentRef === this.sourceRef ? [] : undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

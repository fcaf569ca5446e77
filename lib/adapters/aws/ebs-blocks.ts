import { createHash } from "node:crypto";
import { SourceError, TransientError } from "../../errors.ts";
import type { ChangedRange } from "../../ports/volume-source.ts";
import { awsErrorCode, translateAwsError } from "./aws-errors.ts";

/** EBS sizes volumes in whole GiB. */
export const GIB = 1024 ** 3;

/** What an EBS snapshot id looks like (`snap-` and 8 or 17 hex digits). */
export const EBS_SNAPSHOT_ID = /^snap-[0-9a-f]{8,17}$/;

/** The largest page the list APIs return (`MaxResults` is 100-10000). */
export const EBS_MAX_RESULTS = 10_000;

/** The SHA-256 of `data`, base64: the checksum the EBS direct APIs exchange with every block. */
export function sha256Base64(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("base64");
}

/** Collects a streamed SDK body (a Node readable in practice) into one Buffer. */
export async function collectBody(body: unknown, what: string): Promise<Buffer> {
  if (body === undefined || body === null) throw new SourceError(`${what}: the response had no data`);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/**
 * Turns changed block indexes into byte ranges of a disk of `size` bytes, sorted, with runs of
 * adjacent blocks merged so the engine sees few ranges.
 */
export function blockRanges(indexes: readonly number[], blockSize: number, size: number): ChangedRange[] {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const ranges: { offset: number; length: number }[] = [];
  for (const index of sorted) {
    const offset = index * blockSize;
    if (offset >= size) continue;
    const length = Math.min(blockSize, size - offset);
    const last = ranges.at(-1);
    if (last && last.offset + last.length === offset) last.length += length;
    else ranges.push({ offset, length });
  }
  return ranges;
}

/** The `Reason` field EBS puts on its validation and not-found errors. */
export function ebsReason(err: unknown): string | undefined {
  return typeof err === "object" && err !== null ? (err as { Reason?: string }).Reason : undefined;
}

/**
 * Translates an EBS direct-API error like {@link translateAwsError}, plus the EBS-specific codes
 * it does not know: too many concurrent requests on one snapshot is worth repeating.
 */
export function translateEbsError(err: unknown, what: string) {
  if (awsErrorCode(err) === "ConcurrentLimitExceededException") {
    return new TransientError(`${what}: too many concurrent EBS requests`, { cause: err });
  }
  return translateAwsError(err, what);
}

/** An EBS error as the `SourceError` a volume source must raise, keeping whether to retry. */
export function ebsSourceError(err: unknown, snapshotId: string, what: string): SourceError {
  if (err instanceof SourceError) return err;
  const code = awsErrorCode(err);
  if (code === "ResourceNotFoundException") {
    return new SourceError(
      `EBS snapshot ${snapshotId} not found (${ebsReason(err) ?? "deleted, or not shared with this account"})`,
      { cause: err },
    );
  }
  const translated = translateEbsError(err, `${what} of EBS snapshot ${snapshotId}`);
  return new SourceError(translated.message, { cause: err, retryable: translated.retryable });
}

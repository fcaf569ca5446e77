import { randomUUID } from "node:crypto";
import {
  CompleteSnapshotCommand,
  type EBSClient,
  PutSnapshotBlockCommand,
  StartSnapshotCommand,
} from "@aws-sdk/client-ebs";
import { BlockvaultError, ValidationError } from "../../errors.ts";
import type { RestoreTarget } from "../../ports/restore-target.ts";
import { mapLimit } from "../../util/concurrency.ts";
import { Semaphore } from "../../util/semaphore.ts";
import { GIB, sha256Base64, translateEbsError } from "./ebs-blocks.ts";

/** Options of {@link openEbsSnapshotTarget}. */
export interface EbsSnapshotTargetOptions {
  /** Description of the new snapshot. */
  readonly description?: string;
  /** Tags of the new snapshot. */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * Minutes after which AWS cancels the snapshot if no block is written or it is not completed
   * after the last write (default 60). This is how an aborted restore's snapshot goes away.
   */
  readonly timeoutMinutes?: number;
  /** Encrypt the snapshot, with this KMS key when given (else the account's EBS default key). */
  readonly encrypted?: boolean;
  readonly kmsKeyArn?: string;
  /** PutSnapshotBlock calls in flight at once (default 16). */
  readonly concurrency?: number;
}

/**
 * Restores into a new EBS snapshot through the EBS direct APIs: StartSnapshot at open (volume size
 * rounded up to whole GiB, the tail reading as zeros), one PutSnapshotBlock per block with its
 * SHA-256 as soon as all of its bytes have been written, CompleteSnapshot on commit, which
 * returns the snapshot id. All-zero blocks are never sent: a snapshot without a parent reads
 * unwritten blocks as zeros. Writes need not be aligned to the snapshot's 512 KiB blocks; the
 * parts of a block are buffered until the block is whole (or until commit, zeros filling holes).
 *
 * Abort never completes the snapshot. The EBS direct APIs cannot delete it; AWS cancels the
 * pending snapshot after `timeoutMinutes`, so it never becomes usable.
 */
export async function openEbsSnapshotTarget(
  client: EBSClient,
  size: number,
  options: EbsSnapshotTargetOptions = {},
): Promise<RestoreTarget> {
  if (!Number.isSafeInteger(size) || size <= 0) throw new ValidationError(`invalid restore size ${size}`);
  const started = await client
    .send(
      new StartSnapshotCommand({
        VolumeSize: Math.ceil(size / GIB),
        Timeout: options.timeoutMinutes ?? 60,
        // Makes a repeated StartSnapshot (an SDK retry) return the same snapshot, not a second one.
        ClientToken: randomUUID(),
        ...(options.description ? { Description: options.description } : {}),
        ...(options.tags
          ? { Tags: Object.entries(options.tags).map(([Key, Value]) => ({ Key, Value })) }
          : {}),
        ...(options.encrypted || options.kmsKeyArn ? { Encrypted: true } : {}),
        ...(options.kmsKeyArn ? { KmsKeyArn: options.kmsKeyArn } : {}),
      }),
    )
    .catch((err: unknown) => {
      throw translateEbsError(err, "start EBS snapshot for restore");
    });
  const snapshotId = started.SnapshotId!;
  const bs = started.BlockSize ?? 0;
  if (!Number.isSafeInteger(bs) || bs <= 0) {
    throw new BlockvaultError(`EBS snapshot ${snapshotId} reports an unusable block size of ${bs} bytes`);
  }
  const what = `restore into EBS snapshot ${snapshotId}`;
  const zeros = Buffer.alloc(bs);
  /** Blocks written only partly so far, zero-filled. */
  const partial = new Map<number, { buf: Buffer; filled: number }>();
  const written = new Set<number>();
  const limit = new Semaphore(options.concurrency ?? 16);
  const inFlight = new Set<Promise<void>>();
  let state: "open" | "committing" | "committed" | "aborted" = "open";
  /** Bytes of block `index` inside the image; the rest of the last block is zeros already. */
  const blockBytes = (index: number) => Math.min(bs, size - index * bs);

  const put = (index: number, data: Buffer): Promise<void> => {
    if (data.equals(zeros)) return Promise.resolve();
    const sending = limit.run(async () => {
      if (state === "aborted") return;
      await client
        .send(
          new PutSnapshotBlockCommand({
            SnapshotId: snapshotId,
            BlockIndex: index,
            BlockData: data,
            DataLength: bs,
            Checksum: sha256Base64(data),
            ChecksumAlgorithm: "SHA256",
          }),
        )
        .catch((err: unknown) => {
          throw translateEbsError(err, `${what}: put block ${index}`);
        });
      written.add(index);
    });
    inFlight.add(sending);
    const forget = () => inFlight.delete(sending);
    sending.then(forget, forget);
    return sending;
  };

  return {
    description: snapshotId,
    async write(offset, data) {
      if (state !== "open") throw new BlockvaultError(`${what}: the target is ${state}; cannot write`);
      if (!Number.isSafeInteger(offset) || offset < 0 || offset + data.length > size) {
        throw new ValidationError(
          `${what}: write of ${data.length} bytes at ${offset} is outside ${size} bytes`,
        );
      }
      const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const puts: Promise<void>[] = [];
      for (let at = 0; at < view.length; ) {
        const index = Math.floor((offset + at) / bs);
        const within = offset + at - index * bs;
        const n = Math.min(bs - within, view.length - at);
        const piece = view.subarray(at, at + n);
        at += n;
        if (n === bs) {
          // A whole block in one write: sent straight from the caller's buffer, which stays
          // untouched until this write resolves.
          puts.push(put(index, piece));
          continue;
        }
        const block = partial.get(index) ?? { buf: Buffer.alloc(bs), filled: 0 };
        partial.set(index, block);
        piece.copy(block.buf, within);
        // Writes are disjoint (the port's contract), so a full count means every byte is in.
        block.filled += n;
        if (block.filled >= blockBytes(index)) {
          partial.delete(index);
          puts.push(put(index, block.buf));
        }
      }
      await Promise.all(puts);
    },
    async commit() {
      if (state !== "open") throw new BlockvaultError(`${what}: the target is ${state}; cannot commit`);
      state = "committing";
      await Promise.all(inFlight);
      const rest = [...partial.entries()];
      partial.clear();
      await mapLimit(rest, limit.limit, ([index, block]) => put(index, block.buf));
      const done = await client
        .send(new CompleteSnapshotCommand({ SnapshotId: snapshotId, ChangedBlocksCount: written.size }))
        .catch((err: unknown) => {
          throw translateEbsError(err, `${what}: complete`);
        });
      if (done.Status === "error") throw new BlockvaultError(`${what}: AWS reports the snapshot failed`);
      state = "committed";
      return snapshotId;
    },
    async abort() {
      if (state === "committed") return;
      state = "aborted";
      partial.clear();
      await Promise.allSettled(inFlight);
    },
  };
}

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
  const snapshot = await startSnapshot(client, size, options);
  return new EbsSnapshotTarget(client, snapshot, size, options.concurrency ?? 16);
}

/** A pending snapshot: its id and block size. */
interface PendingSnapshot {
  readonly id: string;
  readonly blockSize: number;
}

async function startSnapshot(
  client: EBSClient,
  size: number,
  options: EbsSnapshotTargetOptions,
): Promise<PendingSnapshot> {
  const command = new StartSnapshotCommand({
    VolumeSize: Math.ceil(size / GIB),
    Timeout: options.timeoutMinutes ?? 60,
    // Makes a repeated StartSnapshot (an SDK retry) return the same snapshot, not a second one.
    ClientToken: randomUUID(),
    ...(options.description ? { Description: options.description } : {}),
    ...(options.tags ? { Tags: Object.entries(options.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
    ...(options.encrypted || options.kmsKeyArn ? { Encrypted: true } : {}),
    ...(options.kmsKeyArn ? { KmsKeyArn: options.kmsKeyArn } : {}),
  });
  const started = await client.send(command).catch((err: unknown) => {
    throw translateEbsError(err, "start EBS snapshot for restore");
  });
  const id = started.SnapshotId!;
  const blockSize = started.BlockSize ?? 0;
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0) {
    throw new BlockvaultError(`EBS snapshot ${id} reports an unusable block size of ${blockSize} bytes`);
  }
  return { id, blockSize };
}

/** The pending snapshot a restore writes into; see {@link openEbsSnapshotTarget}. */
class EbsSnapshotTarget implements RestoreTarget {
  readonly description: string;
  readonly #client: EBSClient;
  readonly #snapshot: PendingSnapshot;
  readonly #size: number;
  readonly #what: string;
  readonly #zeros: Buffer;
  /** Blocks written only partly so far, zero-filled. */
  readonly #partial = new Map<number, { buf: Buffer; filled: number }>();
  readonly #written = new Set<number>();
  readonly #limit: Semaphore;
  readonly #inFlight = new Set<Promise<void>>();
  #state: "open" | "committing" | "committed" | "aborted" = "open";

  constructor(client: EBSClient, snapshot: PendingSnapshot, size: number, concurrency: number) {
    this.description = snapshot.id;
    this.#client = client;
    this.#snapshot = snapshot;
    this.#size = size;
    this.#what = `restore into EBS snapshot ${snapshot.id}`;
    this.#zeros = Buffer.alloc(snapshot.blockSize);
    this.#limit = new Semaphore(concurrency);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    if (this.#state !== "open")
      throw new BlockvaultError(`${this.#what}: the target is ${this.#state}; cannot write`);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + data.length > this.#size) {
      throw new ValidationError(
        `${this.#what}: write of ${data.length} bytes at ${offset} is outside ${this.#size} bytes`,
      );
    }
    const bs = this.#snapshot.blockSize;
    const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const puts: Promise<void>[] = [];
    for (let at = 0; at < view.length; ) {
      const index = Math.floor((offset + at) / bs);
      const within = offset + at - index * bs;
      const n = Math.min(bs - within, view.length - at);
      const piece = view.subarray(at, at + n);
      at += n;
      // A whole block in one write is sent straight from the caller's buffer, which stays
      // untouched until this write resolves; a part waits until its block is whole.
      const whole = n === bs ? piece : this.#fill(index, within, piece);
      if (whole) puts.push(this.#put(index, whole));
    }
    await Promise.all(puts);
  }

  async commit(): Promise<string> {
    if (this.#state !== "open")
      throw new BlockvaultError(`${this.#what}: the target is ${this.#state}; cannot commit`);
    this.#state = "committing";
    await Promise.all(this.#inFlight);
    await this.#putPartialBlocks();
    await this.#complete();
    this.#state = "committed";
    return this.#snapshot.id;
  }

  /** Never completes the snapshot: AWS cancels a pending one after its timeout. */
  async abort(): Promise<void> {
    if (this.#state === "committed") return;
    this.#state = "aborted";
    this.#partial.clear();
    await Promise.allSettled(this.#inFlight);
  }

  /** Bytes of block `index` inside the image; the rest of the last block is zeros already. */
  #blockBytes(index: number): number {
    return Math.min(this.#snapshot.blockSize, this.#size - index * this.#snapshot.blockSize);
  }

  /** Adds a piece to a partly written block; the block, once every byte of it is in. */
  #fill(index: number, within: number, piece: Buffer): Buffer | undefined {
    const block = this.#partial.get(index) ?? { buf: Buffer.alloc(this.#snapshot.blockSize), filled: 0 };
    this.#partial.set(index, block);
    piece.copy(block.buf, within);
    // Writes are disjoint (the port's contract), so a full count means every byte is in.
    block.filled += piece.length;
    if (block.filled < this.#blockBytes(index)) return undefined;
    this.#partial.delete(index);
    return block.buf;
  }

  /** The blocks still partly written at commit, zeros filling their holes. */
  async #putPartialBlocks(): Promise<void> {
    const rest = [...this.#partial.entries()];
    this.#partial.clear();
    await mapLimit(rest, this.#limit.limit, ([index, block]) => this.#put(index, block.buf));
  }

  /** Sends one block, unless it is all zeros (a snapshot without a parent reads those as zeros). */
  #put(index: number, data: Buffer): Promise<void> {
    if (data.equals(this.#zeros)) return Promise.resolve();
    const sending = this.#limit.run(async () => {
      if (this.#state === "aborted") return;
      const command = new PutSnapshotBlockCommand({
        SnapshotId: this.#snapshot.id,
        BlockIndex: index,
        BlockData: data,
        DataLength: this.#snapshot.blockSize,
        Checksum: sha256Base64(data),
        ChecksumAlgorithm: "SHA256",
      });
      await this.#client.send(command).catch((err: unknown) => {
        throw translateEbsError(err, `${this.#what}: put block ${index}`);
      });
      this.#written.add(index);
    });
    this.#inFlight.add(sending);
    const forget = () => this.#inFlight.delete(sending);
    sending.then(forget, forget);
    return sending;
  }

  async #complete(): Promise<void> {
    const command = new CompleteSnapshotCommand({
      SnapshotId: this.#snapshot.id,
      ChangedBlocksCount: this.#written.size,
    });
    const done = await this.#client.send(command).catch((err: unknown) => {
      throw translateEbsError(err, `${this.#what}: complete`);
    });
    if (done.Status === "error") throw new BlockvaultError(`${this.#what}: AWS reports the snapshot failed`);
  }
}

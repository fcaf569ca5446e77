import { type EBSClient, GetSnapshotBlockCommand } from "@aws-sdk/client-ebs";
import { type BlockvaultError, SourceError, ValidationError } from "../../errors.ts";
import type { ChangedRange, VolumeRange, VolumeSource } from "../../ports/volume-source.ts";
import { Semaphore } from "../../util/semaphore.ts";
import { awsErrorCode } from "./aws-errors.ts";
import {
  blockRanges,
  collectBody,
  EBS_SNAPSHOT_ID,
  ebsReason,
  ebsSourceError,
  GIB,
  sha256Base64,
} from "./ebs-blocks.ts";
import { listChangedBlocks, listSnapshotBlocks } from "./ebs-list.ts";

/** Options of {@link openEbsSnapshotSource}. */
export interface EbsSnapshotSourceOptions {
  /** GetSnapshotBlock calls in flight at once, across all reads (default 16). */
  readonly concurrency?: number;
  /**
   * Told why change tracking was not used (parent snapshot gone, snapshots unrelated, API
   * refused), so a caller can say why an incremental reads the whole disk.
   */
  readonly onChangeTrackingUnavailable?: (reason: BlockvaultError) => void;
}

/**
 * Opens a completed EBS snapshot as a {@link VolumeSource} through the EBS direct APIs. The block
 * list is fetched once (ListSnapshotBlocks, every page): blocks it does not name were never
 * written and read as zeros without a request; the others are fetched with GetSnapshotBlock, in
 * parallel, and checked against the SHA-256 the service returns with them. `sourceRef` is the
 * snapshot id, and `changedRanges` asks ListChangedBlocks what differs from a parent snapshot.
 *
 * @param client - an EBS client (see `ebsClient`), in the snapshot's region.
 * @throws SourceError naming the snapshot when it does not exist, is not readable by the caller,
 *   or reports a geometry that makes no sense.
 */
export async function openEbsSnapshotSource(
  client: EBSClient,
  snapshotId: string,
  options: EbsSnapshotSourceOptions = {},
): Promise<VolumeSource> {
  if (!EBS_SNAPSHOT_ID.test(snapshotId)) {
    throw new ValidationError(`"${snapshotId}" is not an EBS snapshot id (snap-0123456789abcdef0)`);
  }
  const listing = await listSnapshotBlocks(client, snapshotId).catch((err: unknown) => {
    throw ebsSourceError(err, snapshotId, "list blocks");
  });
  const { volumeSize, blockSize } = listing;
  if (!Number.isSafeInteger(volumeSize) || volumeSize <= 0) {
    throw new SourceError(`EBS snapshot ${snapshotId} reports a volume size of ${volumeSize} GiB`);
  }
  const size = volumeSize * GIB;
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0 || size % blockSize !== 0) {
    throw new SourceError(`EBS snapshot ${snapshotId} reports an unusable block size of ${blockSize} bytes`);
  }
  return new EbsSnapshotSource(client, snapshotId, size, blockSize, listing.tokens, options);
}

/** Recently fetched blocks kept, so reads smaller than an EBS block do not fetch it repeatedly. */
const RECENT_BLOCKS = 16;

class EbsSnapshotSource implements VolumeSource {
  readonly description: string;
  readonly size: number;
  readonly format = "ebs-snapshot";
  readonly sourceRef: string;
  readonly #client: EBSClient;
  readonly #blockSize: number;
  readonly #tokens: Map<number, string>;
  readonly #limit: Semaphore;
  readonly #recent = new Map<number, Promise<Buffer>>();
  readonly #onUnavailable: ((reason: BlockvaultError) => void) | undefined;
  #closed = false;

  constructor(
    client: EBSClient,
    snapshotId: string,
    size: number,
    blockSize: number,
    tokens: Map<number, string>,
    options: EbsSnapshotSourceOptions,
  ) {
    this.#client = client;
    this.description = snapshotId;
    this.sourceRef = snapshotId;
    this.size = size;
    this.#blockSize = blockSize;
    this.#tokens = tokens;
    this.#limit = new Semaphore(options.concurrency ?? 16);
    this.#onUnavailable = options.onChangeTrackingUnavailable;
  }

  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new ValidationError(`invalid read of ${this.description}: offset ${offset}, length ${length}`);
    }
    if (this.#closed) throw new SourceError(`EBS snapshot ${this.description} is closed`);
    const n = Math.max(0, Math.min(length, this.size - offset));
    if (into && into.length < n)
      throw new ValidationError(`read buffer of ${into.length} bytes is smaller than ${n}`);
    const out = into ? into.subarray(0, n) : Buffer.allocUnsafe(n);
    // Unwritten blocks are zeros; `into` may hold a previous segment's bytes.
    out.fill(0);
    const bs = this.#blockSize;
    const fetches: Promise<void>[] = [];
    for (let index = Math.floor(offset / bs); index * bs < offset + n; index++) {
      if (!this.#tokens.has(index)) continue;
      const start = Math.max(offset, index * bs);
      const end = Math.min(offset + n, (index + 1) * bs);
      fetches.push(
        this.#block(index).then((data) => {
          data.copy(out, start - offset, start - index * bs, end - index * bs);
        }),
      );
    }
    // Every fetch must settle before returning: a rejected read must not keep writing into `into`.
    const results = await Promise.allSettled(fetches);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    return out;
  }

  /** One block's bytes, shared by concurrent readers and kept for a few more reads. */
  #block(index: number): Promise<Buffer> {
    const cached = this.#recent.get(index);
    if (cached) return cached;
    const fetching = this.#fetch(index);
    this.#recent.set(index, fetching);
    fetching.catch(() => this.#recent.delete(index));
    if (this.#recent.size > RECENT_BLOCKS) this.#recent.delete(this.#recent.keys().next().value!);
    return fetching;
  }

  async #fetch(index: number, refreshed = false): Promise<Buffer> {
    const what = `read block ${index}`;
    let data: Buffer;
    let checksum: string | undefined;
    let algorithm: string | undefined;
    try {
      ({ data, checksum, algorithm } = await this.#limit.run(async () => {
        const r = await this.#client.send(
          new GetSnapshotBlockCommand({
            SnapshotId: this.description,
            BlockIndex: index,
            BlockToken: this.#tokens.get(index),
          }),
        );
        // The body is consumed inside the permit: it holds the connection until drained.
        const bytes = await collectBody(r.BlockData, `${what} of EBS snapshot ${this.description}`);
        return { data: bytes, checksum: r.Checksum, algorithm: r.ChecksumAlgorithm };
      }));
    } catch (err) {
      // Block tokens expire; a long backup may outlive the ones listed at open.
      if (!refreshed && ebsReason(err) === "INVALID_BLOCK_TOKEN") {
        await this.#refreshTokens(index);
        return this.#fetch(index, true);
      }
      throw ebsSourceError(err, this.description, what);
    }
    if (data.length !== this.#blockSize) {
      throw new SourceError(
        `EBS snapshot ${this.description}: block ${index} has ${data.length} bytes, expected ${this.#blockSize}`,
        { retryable: true },
      );
    }
    if (checksum && (algorithm ?? "SHA256") === "SHA256" && sha256Base64(data) !== checksum) {
      // A corrupted transfer, not a corrupted snapshot, as far as we can tell: worth retrying.
      throw new SourceError(
        `EBS snapshot ${this.description}: block ${index} does not match its SHA-256 checksum`,
        { retryable: true },
      );
    }
    return data;
  }

  async #refreshTokens(from: number): Promise<void> {
    const page = await listSnapshotBlocks(this.#client, this.description, {
      startingBlockIndex: from,
      onePage: true,
    }).catch((err: unknown) => {
      throw ebsSourceError(err, this.description, "list blocks");
    });
    for (const [index, token] of page.tokens) this.#tokens.set(index, token);
  }

  /** The blocks the snapshot holds (its block list, fetched at open): the rest was never written. */
  async allocatedRanges(): Promise<readonly VolumeRange[]> {
    return blockRanges([...this.#tokens.keys()], this.#blockSize, this.size);
  }

  /**
   * The byte ranges that differ from snapshot `parentRef`, from ListChangedBlocks (every page).
   * Anything that makes the answer doubtful — not a snapshot id, the parent deleted, unrelated
   * snapshots, another geometry, a refused or failed call — gives undefined, so the engine reads
   * the whole disk rather than trust a partial list.
   */
  async changedRanges(parentRef: string): Promise<ChangedRange[] | undefined> {
    if (parentRef === this.sourceRef) return [];
    if (!EBS_SNAPSHOT_ID.test(parentRef)) return undefined;
    let indexes: number[];
    try {
      indexes = await listChangedBlocks(this.#client, parentRef, this.description, {
        volumeSize: this.size / GIB,
        blockSize: this.#blockSize,
      });
    } catch (err) {
      const detail = err instanceof Error && err.message ? err.message : awsErrorCode(err);
      this.#onUnavailable?.(
        new SourceError(
          `changes of EBS snapshot ${this.description} since ${parentRef} are unknown, reading it all: ${detail}`,
          { cause: err },
        ),
      );
      return undefined;
    }
    return blockRanges(indexes, this.#blockSize, this.size);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#recent.clear();
  }
}

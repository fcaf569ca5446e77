import { IntegrityError, NotFoundError, ValidationError } from "../../errors.ts";
import { JobStatus, JobType, PointState, type RecoveryPointRecord } from "../../model.ts";
import { type LocalObjectFiles, localFileOf } from "../../ports/local-files.ts";
import type { ByteRange, ObjectStore } from "../../ports/object-store.ts";
import type { RestoreTarget } from "../../ports/restore-target.ts";
import { ownedArrayBuffer } from "../../util/buffers.ts";
import { forEachLimit } from "../../util/concurrency.ts";
import { condemnedPacks } from "../gc/chain.ts";
import { type BlockIndex, loadLiveIndex } from "../index/block-index.ts";
import { JobHeartbeat } from "../jobs/heartbeat.ts";
import { failJob, startJob } from "../jobs/jobs.ts";
import { packDataKeys } from "../keys/pack-data-keys.ts";
import { type StreamedManifest, streamManifest } from "../points/manifest.ts";
import { rootOf } from "../points/point-binding.ts";
import { packKey } from "../store/layout.ts";
import type { VaultContext } from "../store/vault-config.ts";
import { openingPool } from "../workers/worker-pool.ts";
import type { ObjectFileRange, Placement } from "../workers/worker-protocol.ts";
import { type PlannedBlob, type PlannedRead, planReads } from "./restore-plan.ts";

/** Options of one restore. */
export interface RestoreOptions {
  /** Restore only these bytes of the disk; the target then holds exactly them. */
  readonly range?: ByteRange;
  readonly onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /**
   * A job already recorded for this restore (the API creates it before the restore state machine
   * runs): it is updated instead of a new job being created.
   */
  readonly jobId?: string;
  /** Bytes written between background flushes of a target that can flush (default 16 MiB). */
  readonly flushEveryBytes?: number;
}

/** What a restore did. */
export interface RestoreResult {
  readonly recoveryPointId: string;
  readonly jobId: string;
  readonly target: string;
  readonly bytesRestored: number;
  readonly blocksVerified: number;
  readonly durationMs: number;
}

/** Looks up a point and checks it can be restored (available or still soft-deleted). */
export async function restorablePoint(ctx: VaultContext, pointId: string): Promise<RecoveryPointRecord> {
  let point: RecoveryPointRecord;
  try {
    point = await ctx.deps.catalog.getRecoveryPoint(ctx.config.vaultId, pointId);
  } catch (err) {
    if (err instanceof NotFoundError)
      throw new NotFoundError(`recovery point ${pointId} does not exist`, { cause: err });
    throw err;
  }
  if (point.state === PointState.Purged) throw new NotFoundError(`recovery point ${pointId} was purged`);
  return point;
}

/** Checks a byte range against the disk size. */
export function validateRange(range: ByteRange | undefined, size: number): ByteRange {
  if (!range) return { offset: 0, length: size };
  const { offset, length } = range;
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length <= 0 ||
    offset + length > size
  ) {
    throw new ValidationError(`byte range ${offset}+${length} is outside the disk (0-${size})`);
  }
  return range;
}

/**
 * Restores a recovery point into `target`, verifying every block (AEAD tag, then the block's
 * keyed hash against its ID) before writing it. Holes are never written. Either the whole image
 * is committed to the target or the target is aborted and nothing appears.
 */
export async function runRestore(
  ctx: VaultContext,
  point: RecoveryPointRecord,
  target: RestoreTarget,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const { catalog, clock } = ctx.deps;
  const vaultId = ctx.config.vaultId;
  const started = clock.now();
  const { range, jobId } = await abortingOnFailure(target, async () => {
    const range = validateRange(options.range, point.logicalSize);
    // A job of its own runs here to its end, with a heartbeat; one a state machine recorded does not.
    const jobId =
      options.jobId ??
      (await startJob(
        ctx,
        {
          type: JobType.Restore,
          disk: point.disk,
          recoveryPoint: point.id,
          detail: { target: target.description, offset: range.offset, length: range.length },
        },
        { heartbeat: true },
      ));
    return { range, jobId };
  });
  const heartbeat = options.jobId ? undefined : JobHeartbeat.start(ctx, jobId);
  let verified: number;
  let where: string;
  try {
    verified = await restoreBlocks(ctx, point, target, range, options);
    where = await target.commit();
  } catch (err) {
    heartbeat?.stop();
    await target.abort().catch(() => {});
    throw await failJob(ctx, jobId, err, `restore of recovery point ${point.id}`);
  }
  heartbeat?.stop();
  // The image is in place: failing to record that must not report the restore as failed.
  await catalog
    .updateJob(vaultId, jobId, {
      status: JobStatus.Completed,
      ended: clock.now(),
      bytesScanned: range.length,
    })
    .catch(() => {});
  return {
    recoveryPointId: point.id,
    jobId,
    target: where,
    bytesRestored: range.length,
    blocksVerified: verified,
    durationMs: clock.now() - started,
  };
}

/**
 * Runs `step` of a restore that has not begun writing; when it fails, the target is aborted
 * before the error is rethrown: a restore that never started leaves no partial target behind.
 */
export async function abortingOnFailure<T>(target: RestoreTarget, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    await target.abort().catch(() => {});
    throw err;
  }
}

async function restoreBlocks(
  ctx: VaultContext,
  point: RecoveryPointRecord,
  target: RestoreTarget,
  range: ByteRange,
  options: RestoreOptions,
): Promise<number> {
  const { store } = ctx.deps;
  // Workers start while the manifest and the index load; the vault's block size is the one
  // every manifest of this vault uses (checked below).
  const pool = openingPool(ctx);
  let verified = 0;
  let done = 0;
  let flusher: ReturnType<typeof backgroundFlush> | undefined;
  try {
    const [manifest, index] = await Promise.all([
      // Refused before a segment is read unless the root is this point's (its id, disk, size,
      // parent, time) in a vault of this block size.
      streamManifest(store, ctx.secrets, point.manifest, rootOf(ctx, point)),
      loadLiveIndex(store, ctx.secrets, condemnedPacks(ctx)),
    ]);
    const { blockSize } = manifest.root;
    const firstBlock = Math.floor(range.offset / blockSize);
    const endBlock = Math.ceil((range.offset + range.length) / blockSize);
    const reads = plannedReads(manifest, firstBlock, endBlock, index);
    const keyFor = packDataKeys(ctx, index);
    const paths = localPaths(ctx.deps.localFiles?.objects);
    const targetFile = localFileOf(target);
    const flush = backgroundFlush(target, options.flushEveryBytes ?? FLUSH_EVERY);
    flusher = flush;
    // One read more than workers keeps every worker busy; more only adds memory.
    await forEachLimit(reads, pool.size + 1, async (read) => {
      const [source, key] = await Promise.all([packRange(store, read, paths), keyFor(read.pack)]);
      const items = read.blobs.map((b) => ({
        id: b.id,
        offset: b.offset - read.offset,
        length: b.length,
        rawLength: b.rawLength,
      }));
      const placements = placeBlobs(read.blobs, blockSize, range);
      if (targetFile) {
        // Awaited before it is added: `done += await …` would read `done` before the wait and
        // drop what the reads finishing meanwhile added (progress went backwards, and the
        // flushes that count on it came three times too rarely).
        const written = await pool.openInto(key, source, items, targetFile.fd, placements);
        done += written;
      } else {
        const opened = await pool.open(key, source, items);
        for (const p of placements) {
          await target.write(p.to, opened[p.item]!.subarray(p.from, p.from + p.length));
          done += p.length;
        }
      }
      verified += read.blobs.reduce((n, b) => n + b.blocks.length, 0);
      options.onProgress?.(Math.min(done, range.length), range.length);
      flush.written(done);
    });
    await flush.settle();
  } finally {
    // A flush still running must end before the caller aborts (closes) the target.
    await flusher?.settle().catch(() => {});
    await pool.close();
  }
  return verified;
}

/** Blocks planned at a time: the first reads start before the rest of the map is planned. */
const PLAN_WINDOW_BLOCKS = 2048;

/**
 * The reads restoring blocks `[firstBlock, endBlock)`, planned a window at a time as the block
 * map's segments arrive: workers start on the first window while the main thread decodes and
 * plans the next, instead of leaving the workers idle while the whole plan is made. A pack's
 * blobs are merged into reads within a window, and a block repeated in several windows is opened
 * once per window.
 */
async function* plannedReads(
  manifest: StreamedManifest,
  firstBlock: number,
  endBlock: number,
  index: BlockIndex,
): AsyncGenerator<PlannedRead> {
  const { segmentBlocks } = manifest.root;
  for (let start = firstBlock; start < endBlock; start += PLAN_WINDOW_BLOCKS) {
    const end = Math.min(endBlock, start + PLAN_WINDOW_BLOCKS);
    for (let s = Math.floor(start / segmentBlocks); s < Math.ceil(end / segmentBlocks); s++) {
      await manifest.segmentLoaded(s);
    }
    yield* planReads(manifest.ids, start, end, index);
  }
  // Segments outside the range still load; their failures must not go unobserved.
  await manifest.complete;
}

/**
 * The bytes of one planned read, for a worker: where the store has the pack as a local file, the
 * range of it for the worker to read (no copy through this thread, and the worker decrypts what
 * it just read while it is in its caches); otherwise the bytes, fetched here.
 */
async function packRange(
  store: ObjectStore,
  read: PlannedRead,
  localPath: (key: string) => Promise<string | undefined>,
): Promise<ArrayBuffer | ObjectFileRange> {
  const key = packKey(read.pack);
  const path = await localPath(key);
  if (path !== undefined) return { path, key, offset: read.offset, length: read.length };
  const bytes = await store.get(key, { offset: read.offset, length: read.length }).catch((err: unknown) => {
    // The index promised this pack: its absence is lost data, like a missing manifest.
    if (!(err instanceof NotFoundError)) throw err;
    throw new IntegrityError(`${key} is missing from the vault`, { cause: err });
  });
  return ownedArrayBuffer(bytes);
}

/**
 * The store's `localPath` (when its objects are local files), asked once per pack: a restore
 * reads each pack several times, and an archive answers by reading the pack's tier record,
 * main-thread work the workers would wait for. A pack archived after the answer fails its read,
 * as it would have between the question and the read anyway.
 */
function localPaths(files: LocalObjectFiles | undefined): (key: string) => Promise<string | undefined> {
  const known = new Map<string, Promise<string | undefined>>();
  return (key) => {
    let path = known.get(key);
    if (!path) {
      path = files ? files.localPath(key) : Promise.resolve(undefined);
      known.set(key, path);
    }
    return path;
  };
}

/**
 * Where each opened blob goes in the target: every disk block holding it, clipped to `range`,
 * at its offset relative to the range's start.
 */
export function placeBlobs(blobs: readonly PlannedBlob[], blockSize: number, range: ByteRange): Placement[] {
  const placements: Placement[] = [];
  blobs.forEach((blob, item) => {
    for (const block of blob.blocks) {
      const at = block * blockSize;
      const start = Math.max(at, range.offset);
      const end = Math.min(at + blob.rawLength, range.offset + range.length);
      if (end > start)
        placements.push({ item, from: start - at, length: end - start, to: start - range.offset });
    }
  });
  return placements;
}

/** Bytes written between background flushes of the target. */
const FLUSH_EVERY = 16 * 1024 * 1024;

/**
 * Starts a target flush every `every` bytes, one at a time, without waiting for it:
 * the disk writes back while the workers go on. Its failures surface at `settle` (and the
 * commit's own sync would report them anyway).
 */
function backgroundFlush(target: RestoreTarget, every: number) {
  let next = every;
  let running: Promise<void> | undefined;
  let failure: unknown;
  return {
    written(bytes: number): void {
      if (!target.flush || running || bytes < next) return;
      next = bytes + every;
      running = target
        .flush()
        .catch((err: unknown) => {
          failure ??= err;
        })
        .finally(() => {
          running = undefined;
        });
    },
    async settle(): Promise<void> {
      await running;
      if (failure !== undefined) throw failure;
    },
  };
}

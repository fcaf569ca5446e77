import { randomUUID } from "node:crypto";
import { ConflictError, NotFoundError, SourceError } from "../../errors.ts";
import { Consistency, JobStatus, JobType, PointState, type RecoveryPointRecord, Tier } from "../../model.ts";
import type { StagingArea } from "../../ports/object-store.ts";
import type { ReferenceStore } from "../../ports/references.ts";
import type { ChangedRange, VolumeSource } from "../../ports/volume-source.ts";
import { mapLimit } from "../../util/concurrency.ts";
import { livenessWindowMs } from "../../util/liveness.ts";
import { PendingPoint } from "../gc/abandoned-holds.ts";
import { condemnedPacks, trackedReferences } from "../gc/chain.ts";
import { retainNewPoint } from "../gc/retain.ts";
import { loadLiveIndex } from "../index/block-index.ts";
import { JobHeartbeat } from "../jobs/heartbeat.ts";
import { failJob, resumeJob, startJob } from "../jobs/jobs.ts";
import { DataKeyRotation } from "../keys/data-keys.ts";
import { PackSink } from "../pack/pack-sink.ts";
import {
  type BoundRootManifest,
  isAllHoles,
  type LoadedManifest,
  type RootManifest,
  type StreamedManifest,
  streamManifest,
  writeRoot,
  writeSegment,
} from "../points/manifest.ts";
import { rootOf } from "../points/point-binding.ts";
import { BLOCK_ID_BYTES, FINGERPRINT_BYTES, PACK_TARGET_BYTES } from "../store/layout.ts";
import type { VaultContext } from "../store/vault-config.ts";
import { WorkerPool } from "../workers/worker-pool.ts";
import { commitGuarded } from "./backup-commit.ts";
import { validateDiskName } from "./disk-name.ts";
import { scanSegments } from "./scan-segments.ts";

/** Options of one backup run. */
export interface BackupOptions {
  /** Name of the protected disk; points of the same disk form one chain. */
  readonly disk: string;
  readonly consistency?: Consistency;
  /** Called as bytes are read: `(done, total)`. */
  readonly onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /** Extra details recorded on the job (the scheduled slot a backup is for). */
  readonly jobDetail?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Run the job the scheduler already recorded (queued) instead of recording a new one;
   * `attempt` numbers this delivery of it.
   */
  readonly job?: { readonly id: string; readonly attempt?: number };
}

/** What a backup did, as the CLI's `backup --json` prints it. */
export interface BackupResult {
  readonly recoveryPointId: string;
  readonly jobId: string;
  readonly disk: string;
  readonly parent: string | null;
  readonly logicalSize: number;
  /**
   * Bytes of the disk examined: read, or known to be zeros from the source's allocation map (not
   * the ranges change tracking promised unchanged).
   */
  readonly bytesScanned: number;
  readonly bytesChanged: number;
  readonly bytesStored: number;
  readonly blocksNew: number;
  readonly durationMs: number;
}

/**
 * Backs up one disk image into the vault as a new recovery point, incremental against the disk's
 * latest point. Write order: packs, then index objects, then segment and root manifests, then
 * the catalog record, conditional on the parent still being the latest. A failure anywhere
 * leaves no recovery point and marks the job failed; what was already stored is either reused
 * by the next run (indexed packs) or unreferenced and reclaimable.
 */
export async function runBackup(
  ctx: VaultContext,
  source: VolumeSource,
  options: BackupOptions,
): Promise<BackupResult> {
  validateDiskName(options.disk);
  const { catalog, clock } = ctx.deps;
  const vaultId = ctx.config.vaultId;
  const started = clock.now();
  const parent = await catalog.latestRecoveryPoint(vaultId, options.disk);
  if (parent && parent.logicalSize !== source.size) {
    throw new SourceError(
      `disk "${options.disk}" was ${parent.logicalSize} bytes at recovery point ${parent.id} but ${source.description} is ${source.size} bytes; a resized disk must be protected under a new disk name`,
    );
  }
  const detail = { ...options.jobDetail, source: source.description };
  const jobId = options.job
    ? (
        await resumeJob(ctx, options.job.id, {
          detail,
          ...(options.job.attempt !== undefined ? { attempt: options.job.attempt } : {}),
        })
      ).id
    : await startJob(ctx, { type: JobType.Backup, disk: options.disk, detail }, { heartbeat: true });
  const heartbeat = JobHeartbeat.start(ctx, jobId);
  let result: BackupResult;
  try {
    // What dead backups left in the store's private areas (their staging directories).
    await ctx.deps.store.removeLeftovers?.(livenessWindowMs()).catch(() => undefined);
    try {
      result = await backupInto(ctx, source, options, parent, jobId, started, heartbeat);
    } catch (err) {
      if (!(err instanceof ConflictError && err.retryable)) throw err;
      // Garbage collection took a pack or segment this run's index still offered: one more run,
      // on a fresh index, reuses what this one stored and stores the blocks that were collected.
      const fresh = await catalog.latestRecoveryPoint(vaultId, options.disk);
      result = await backupInto(ctx, source, options, fresh, jobId, started, heartbeat);
    }
  } catch (err) {
    heartbeat.stop();
    throw await failJob(ctx, jobId, err, `backup of disk "${options.disk}"`);
  }
  heartbeat.stop();
  // The point is committed, so the backup succeeded: failing to record that must neither report
  // a failure (a retry would store a second point) nor mark the job failed. The job then stays
  // "running" until it is found abandoned, as after a crash at this moment.
  await catalog
    .updateJob(vaultId, jobId, {
      status: JobStatus.Completed,
      ended: clock.now(),
      recoveryPoint: result.recoveryPointId,
      bytesScanned: result.bytesScanned,
      bytesChanged: result.bytesChanged,
      bytesStored: result.bytesStored,
    })
    .catch(() => {});
  return result;
}

async function backupInto(
  ctx: VaultContext,
  source: VolumeSource,
  options: BackupOptions,
  parent: RecoveryPointRecord | undefined,
  jobId: string,
  started: number,
  heartbeat: JobHeartbeat,
): Promise<BackupResult> {
  const { catalog, clock, store, keys } = ctx.deps;
  const { blockSize, segmentBlocks, vaultId } = ctx.config;
  // Workers start (a thread takes a while to boot) while the parent's manifest and the index load.
  const pool = new WorkerPool({
    blockIdKey: ctx.secrets.blockIdKey,
    fingerprintKeys: ctx.secrets.fingerprintKeys,
    zstdLevel: ctx.config.zstdLevel,
    blockSize,
    packTarget: PACK_TARGET_BYTES,
  });
  let parentManifest: StreamedManifest | undefined;
  const indexLoadedAt = clock.now();
  // The scan starts before the index has loaded: it needs the index only to decide.
  const indexLoading = loadLiveIndex(store, ctx.secrets, condemnedPacks(ctx));
  indexLoading.catch(() => {}); // awaited by the scan and after it
  let hints: ChangedRange[] | undefined;
  // Asked early (mapping a file runs a program): only where the source may hold data is read.
  // Not knowing is no failure, just a backup that reads everything.
  const allocating = Promise.resolve()
    .then(() => source.allocatedRanges?.())
    .catch(() => undefined);
  let staging: StagingArea | undefined;
  let refs: ReferenceStore | undefined;
  try {
    // Packs go straight from the workers into the store's files when it can take them so.
    staging = await store.stage?.();
    if (staging) pool.stageInto(staging.directory);
    // The parent's row must be the parent's: its block map decides what this point reuses.
    parentManifest = parent
      ? await streamManifest(store, ctx.secrets, parent.manifest, rootOf(ctx, parent))
      : undefined;
    if (parentManifest && parentManifest.root.blockSize !== blockSize) {
      throw new SourceError(
        `recovery point ${parent!.id} uses block size ${parentManifest.root.blockSize}, the vault ${blockSize}`,
      );
    }
    hints =
      parent?.sourceRef && source.changedRanges ? await source.changedRanges(parent.sourceRef) : undefined;
    // Inside the try: a failed lookup must close the workers and the staging area too.
    refs = await trackedReferences(ctx);
  } catch (err) {
    await pool.close();
    await staging?.close().catch(() => undefined);
    throw err;
  }
  const tracking = refs;
  const sink = new PackSink(store, ctx.secrets, (pack) => pool.recycle(pack), {
    ...(staging ? { staging } : {}),
    ...(tracking
      ? {
          beforeIndex: (ids) => tracking.registerPacks(vaultId, ids, clock.now()),
          afterIndex: (ids, indexId) => tracking.setPackIndex(vaultId, ids, indexId),
        }
      : {}),
  });
  const rotation = new DataKeyRotation({
    keys,
    vaultId,
    clock,
    onNewKey: (k) => {
      sink.registerKey(k.generation, k.ref);
      pool.setDataKey(k.generation, k.plaintext, k.ref.wrapped, k.ref.masterKeyId);
    },
  });
  let scan: Awaited<ReturnType<typeof scanSegments>>;
  try {
    scan = await scanSegments(
      {
        source,
        blockSize,
        segmentBlocks,
        parent: parentManifest,
        changed: hints,
        allocated: await allocating,
        stored: indexLoading,
        pool,
        rotation,
        sink,
        onProgress: (done) => options.onProgress?.(done, source.size),
      },
      chunksInFlight(source, pool.size, parentManifest !== undefined),
    );
    await sink.finish();
    await parentManifest?.complete; // every segment was awaited by the scan; this is a guard
  } catch (err) {
    try {
      await sink.settle();
    } finally {
      await closeWorkers(pool, staging);
    }
    throw err;
  }
  // Packs and index are stored: closing the threads and the staging area is only cleanup now, done
  // while the manifests are written, so no write waits for it. A
  // thread that fails to stop then cannot make the point wrong, nor fail a committed backup.
  const closing = closeWorkers(pool, staging).catch(() => undefined);
  try {
    return await commitPoint();
  } finally {
    await closing;
  }

  async function commitPoint(): Promise<BackupResult> {
    const index = await indexLoading;
    for (const pack of sink.indexed) index.addPack(pack);
    // The point's id, parent and time are chosen first: its root manifest names them.
    const binding = { point: randomUUID(), parent: parent?.id ?? null, created: clock.now() };
    const manifest = await writeManifests(ctx, options.disk, source, scan, parentManifest, binding);
    const point: RecoveryPointRecord = {
      id: binding.point,
      vaultId,
      disk: options.disk,
      created: binding.created,
      parent: binding.parent,
      consistency: options.consistency ?? Consistency.Crash,
      logicalSize: source.size,
      bytesStored: sink.bytesStored + manifest.bytes,
      manifest: manifest.rootId,
      tier: Tier.Snapshot,
      state: PointState.Available,
      ...(source.sourceRef ? { sourceRef: source.sourceRef } : {}),
    };
    await upsertDisk(ctx, options.disk, source);
    const retention = await retainNewPoint(ctx, {
      id: point.id,
      disk: options.disk,
      root: manifest.root,
      ids: scan.ids,
      index,
      indexLoadedAt,
      beforeHolding: () => notePendingPoint(ctx, jobId, point),
      ...(parent && parentManifest
        ? { parent: { manifest: parent.manifest, root: parentManifest.root } }
        : {}),
    });
    try {
      const objects = { rootId: manifest.rootId, root: manifest.root, ids: scan.ids, index };
      const parentSegments = parentManifest?.root.segments;
      const guarded = {
        ...objects,
        ...(parentSegments ? { parentSegments } : {}),
        ...(retention.packs ? { heldPacks: retention.packs } : {}),
      };
      await commitGuarded(ctx, guarded, heartbeat, () =>
        catalog.commitRecoveryPoint(point, parent?.id ?? null),
      );
    } catch (err) {
      // An ambiguous failure may hide a commit that landed: keep the references then (a leak at
      // worst); give them back only when the point surely does not exist.
      const landed = await catalog.getRecoveryPoint(vaultId, point.id).then(
        () => true,
        (e: unknown) => !(e instanceof NotFoundError),
      );
      if (!landed) await retention.undo().catch(() => {});
      throw err;
    }
    return {
      recoveryPointId: point.id,
      jobId,
      disk: options.disk,
      parent: point.parent,
      logicalSize: source.size,
      bytesScanned: scan.stats.bytesScanned,
      bytesChanged: scan.stats.bytesChanged,
      bytesStored: point.bytesStored,
      blocksNew: scan.stats.blocksNew,
      durationMs: clock.now() - started,
    };
  }
}

/**
 * Records on the job the point it is about to hold references for, so that if this process dies
 * before the commit, whoever finds the job abandoned can give them back (gc/abandoned-holds.ts).
 */
async function notePendingPoint(ctx: VaultContext, jobId: string, point: RecoveryPointRecord): Promise<void> {
  const { catalog } = ctx.deps;
  const job = await catalog.getJob(ctx.config.vaultId, jobId);
  const detail = { ...job.detail, [PendingPoint.point]: point.id, [PendingPoint.root]: point.manifest };
  await catalog.updateJob(ctx.config.vaultId, jobId, { detail }, { status: JobStatus.Running });
}

/**
 * Closes a backup's worker threads, then its staging area. Every staged pack is stored by then, or
 * dropped with the backup; a directory left behind is only litter (never an object), and must not
 * hide how the backup itself ended.
 */
async function closeWorkers(pool: WorkerPool, staging: StagingArea | undefined): Promise<void> {
  await pool.close();
  await staging?.close().catch(() => undefined);
}

/**
 * Chunks the scan keeps in flight. A source read here (S3, EBS) has latency to hide: four per
 * worker. A local image is read by the workers themselves, and there fewer is faster, as the
 * chunks then stay in the CPU caches: one per worker (docs/design.md, "Measured choices"). A full
 * backup is bound by compression and holds pack buffers: two.
 */
function chunksInFlight(source: VolumeSource, workers: number, incremental: boolean): number {
  if (!source.localFile) return workers * 4;
  return incremental ? workers : workers * 2;
}

async function upsertDisk(ctx: VaultContext, disk: string, source: VolumeSource): Promise<void> {
  const { catalog, clock } = ctx.deps;
  // Only a missing record means a new disk: on any other failure, putting a fresh record would
  // silently reset the disk's creation time and drop its policy.
  const existing = await catalog.getDisk(ctx.config.vaultId, disk).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  await catalog.putDisk({
    vaultId: ctx.config.vaultId,
    name: disk,
    created: existing?.created ?? clock.now(),
    size: source.size,
    source: source.description,
    ...(existing?.policy ? { policy: existing.policy } : {}),
  });
}

/** Writes the segments that changed, then the root; returns the root's id and bytes written. */
async function writeManifests(
  ctx: VaultContext,
  disk: string,
  source: VolumeSource,
  map: { ids: Buffer; fingerprints: Buffer },
  parent: LoadedManifest | undefined,
  binding: Pick<BoundRootManifest, "point" | "parent" | "created">,
): Promise<{ rootId: string; root: RootManifest; bytes: number }> {
  const { blockSize, segmentBlocks, vaultId } = ctx.config;
  const idBytes = segmentBlocks * BLOCK_ID_BYTES;
  const fpBytes = segmentBlocks * FINGERPRINT_BYTES;
  const count = Math.ceil(map.ids.length / idBytes);
  let bytes = 0;
  const stored = (n: number) => {
    bytes += n;
  };
  const segments = await mapLimit(
    Array.from({ length: count }, (_, s) => s),
    // Each is a small durable write: many at once share the filesystem's journal commits.
    32,
    async (s) => {
      const ids = map.ids.subarray(s * idBytes, (s + 1) * idBytes);
      // Same IDs mean same blocks, hence same fingerprints: the parent's segment, by name.
      if (parent?.ids.subarray(s * idBytes, (s + 1) * idBytes).equals(ids))
        return parent.root.segments[s] ?? null;
      if (isAllHoles(ids)) return null;
      const fingerprints = map.fingerprints.subarray(s * fpBytes, (s + 1) * fpBytes);
      return writeSegment(ctx.deps.store, ctx.secrets, ids, fingerprints, stored);
    },
  );
  const root: BoundRootManifest = {
    vault: vaultId,
    disk,
    logicalSize: source.size,
    blockSize,
    segmentBlocks,
    sourceFormat: source.format,
    segments,
    ...binding,
  };
  const rootId = await writeRoot(ctx.deps.store, ctx.secrets, root, stored);
  return { rootId, root, bytes };
}

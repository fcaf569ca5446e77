import { ConflictError, SourceError } from "../../errors.ts";
import { type Consistency, JobStatus, JobType, type RecoveryPointRecord } from "../../model.ts";
import { localFileOf } from "../../ports/local-files.ts";
import type { VolumeSource } from "../../ports/volume-source.ts";
import { livenessWindowMs } from "../../util/liveness.ts";
import { JobHeartbeat } from "../jobs/heartbeat.ts";
import { failJob, resumeJob, startJob } from "../jobs/jobs.ts";
import type { DataKeyRotation } from "../keys/data-keys.ts";
import type { PackSink } from "../pack/pack-sink.ts";
import type { VaultContext } from "../store/vault-config.ts";
import { commitNewPoint, type PointCommitter } from "./backup-point.ts";
import { closeWorkers, dataKeysFor, type PreparedRun, packSinkFor, prepareRun } from "./backup-run.ts";
import { validateDiskName } from "./disk-name.ts";
import { type ScanResult, scanSegments } from "./scan-segments.ts";

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
  /** Commits the point in place of the disk's own commit: a VM backup's (see backup-point.ts). */
  readonly committer?: PointCommitter;
  /** The point's time, when it is not now: a VM point's disks share the VM point's. */
  readonly pointTime?: number;
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

/**
 * One attempt at the backup against `parent`: prepare (workers, staging, the parent's block map,
 * change hints), scan and store the new blocks, then write the manifests and commit the point.
 */
async function backupInto(
  ctx: VaultContext,
  source: VolumeSource,
  options: BackupOptions,
  parent: RecoveryPointRecord | undefined,
  jobId: string,
  started: number,
  heartbeat: JobHeartbeat,
): Promise<BackupResult> {
  const run = await prepareRun(ctx, source, parent);
  const sink = packSinkFor(ctx, run);
  const rotation = dataKeysFor(ctx, run.pool, sink);
  const scan = await scanAndStore(ctx, run, sink, rotation, options);
  // Packs and index are stored: closing the threads and the staging area is only cleanup now, done
  // while the manifests are written, so no write waits for it. A thread that fails to stop then
  // cannot make the point wrong, nor fail a committed backup.
  const closing = closeWorkers(run.pool, run.staging).catch(() => undefined);
  try {
    const committed = await commitNewPoint(ctx, {
      ...run,
      scan,
      sink,
      jobId,
      heartbeat,
      disk: options.disk,
      consistency: options.consistency,
      committer: options.committer,
      pointTime: options.pointTime,
    });
    return { ...committed, jobId, durationMs: ctx.deps.clock.now() - started };
  } finally {
    await closing;
  }
}

/**
 * Scans the source into the pack sink and waits for every pack and index to be stored. On failure
 * the sink settles (nothing of this run is still being written) and the workers close.
 */
async function scanAndStore(
  ctx: VaultContext,
  run: PreparedRun,
  sink: PackSink,
  rotation: DataKeyRotation,
  options: BackupOptions,
): Promise<ScanResult> {
  const { source, pool, parentManifest } = run;
  try {
    const scan = await scanSegments(
      {
        source,
        blockSize: ctx.config.blockSize,
        segmentBlocks: ctx.config.segmentBlocks,
        parent: parentManifest,
        changed: run.hints,
        allocated: await run.allocating,
        stored: run.indexLoading,
        pool,
        rotation,
        sink,
        onProgress: (done) => options.onProgress?.(done, source.size),
      },
      chunksInFlight(source, pool.size, parentManifest !== undefined),
    );
    await sink.finish();
    await parentManifest?.complete; // every segment was awaited by the scan; this is a guard
    return scan;
  } catch (err) {
    try {
      await sink.settle();
    } finally {
      await closeWorkers(pool, run.staging);
    }
    throw err;
  }
}

/**
 * Chunks the scan keeps in flight. A source read here (S3, EBS) has latency to hide: four per
 * worker. A local image is read by the workers themselves, and there fewer is faster, as the
 * chunks then stay in the CPU caches: one per worker (docs/design.md, "Measured choices"). A full
 * backup is bound by compression and holds pack buffers: two.
 */
function chunksInFlight(source: VolumeSource, workers: number, incremental: boolean): number {
  if (!localFileOf(source)) return workers * 4;
  return incremental ? workers : workers * 2;
}

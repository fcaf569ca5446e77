import { randomUUID } from "node:crypto";
import { NotFoundError } from "../../errors.ts";
import { Consistency, JobStatus, PointState, type RecoveryPointRecord, Tier } from "../../model.ts";
import type { VolumeSource } from "../../ports/volume-source.ts";
import { mapLimit } from "../../util/concurrency.ts";
import { PendingPoint } from "../gc/abandoned-holds.ts";
import { retainNewPoint } from "../gc/retain.ts";
import type { JobHeartbeat } from "../jobs/heartbeat.ts";
import type { PackSink } from "../pack/pack-sink.ts";
import {
  type BoundRootManifest,
  isAllHoles,
  type LoadedManifest,
  type RootManifest,
  writeRoot,
  writeSegment,
} from "../points/manifest.ts";
import { BLOCK_ID_BYTES, FINGERPRINT_BYTES } from "../store/layout.ts";
import type { VaultContext } from "../store/vault-config.ts";
import type { BackupResult } from "./backup.ts";
import { commitGuarded, type PointObjects } from "./backup-commit.ts";
import type { PreparedRun } from "./backup-run.ts";
import type { ScanResult } from "./scan-segments.ts";

/** What committing a scanned backup needs. */
export interface ScannedRun extends PreparedRun {
  readonly scan: ScanResult;
  readonly sink: PackSink;
  readonly jobId: string;
  readonly heartbeat: JobHeartbeat;
  readonly disk: string;
  readonly consistency: Consistency | undefined;
  /** Commits the point instead of the disk's own commit (see {@link PointCommitter}). */
  readonly committer?: PointCommitter | undefined;
  /** The point's time, when it is not now (the VM point's, for each of its disks). */
  readonly pointTime?: number | undefined;
}

/**
 * A scanned point ready for its catalog commit: what the commit is conditional on, and what the
 * presence check under the reclaim lease needs.
 */
export interface PreparedCommit {
  readonly point: RecoveryPointRecord;
  readonly expectedParent: string | null;
  readonly objects: PointObjects;
  readonly heartbeat: JobHeartbeat;
}

/**
 * Makes a scanned point visible in place of the disk's own commit: a VM backup commits all of
 * its disks' points in one catalog write. It resolves once the point is committed and rejects
 * when it is not (the backup then gives back what it held for the point).
 */
export type PointCommitter = (prepared: PreparedCommit) => Promise<void>;

/** The committed point, as the backup reports it (the job and timing are the caller's). */
export type CommittedPoint = Omit<BackupResult, "jobId" | "durationMs">;

/**
 * Writes the point's manifests, records the disk, holds the point's references, and commits the
 * point in the catalog, conditional on the parent still being the disk's latest point. A commit
 * that surely did not land gives its references back.
 */
export async function commitNewPoint(ctx: VaultContext, run: ScannedRun): Promise<CommittedPoint> {
  const { scan, source, parent, parentManifest } = run;
  const index = await run.indexLoading;
  for (const pack of run.sink.indexed) index.addPack(pack);
  // The point's id, parent and time are chosen first: its root manifest names them.
  // A VM's disks share one time, the VM point's: its retention treats them as one moment.
  const created =
    run.pointTime === undefined ? ctx.deps.clock.now() : Math.max(run.pointTime, (parent?.created ?? 0) + 1);
  const binding = { point: randomUUID(), parent: parent?.id ?? null, created };
  const manifest = await writeManifests(ctx, run.disk, source, scan, parentManifest, binding);
  const point = pointRecord(ctx, run, binding, manifest);
  await upsertDisk(ctx, run.disk, source);
  const retention = await retainNewPoint(ctx, {
    id: point.id,
    disk: run.disk,
    root: manifest.root,
    ids: scan.ids,
    index,
    indexLoadedAt: run.indexLoadedAt,
    beforeHolding: () => notePendingPoint(ctx, run.jobId, point),
    ...(parent && parentManifest ? { parent: { manifest: parent.manifest, root: parentManifest.root } } : {}),
  });
  try {
    const parentSegments = parentManifest?.root.segments;
    const guarded = {
      rootId: manifest.rootId,
      root: manifest.root,
      ids: scan.ids,
      index,
      ...(parentSegments ? { parentSegments } : {}),
      ...(retention.packs ? { heldPacks: retention.packs } : {}),
    };
    const expectedParent = parent?.id ?? null;
    if (run.committer) {
      await run.committer({ point, expectedParent, objects: guarded, heartbeat: run.heartbeat });
    } else {
      await commitGuarded(ctx, guarded, run.heartbeat, () =>
        ctx.deps.catalog.commitRecoveryPoint(point, expectedParent),
      );
    }
  } catch (err) {
    if (!(await mayHaveLanded(ctx, point.id))) await retention.undo().catch(() => {});
    throw err;
  }
  return {
    recoveryPointId: point.id,
    disk: run.disk,
    parent: point.parent,
    logicalSize: source.size,
    bytesScanned: scan.stats.bytesScanned,
    bytesChanged: scan.stats.bytesChanged,
    bytesStored: point.bytesStored,
    blocksNew: scan.stats.blocksNew,
  };
}

function pointRecord(
  ctx: VaultContext,
  run: ScannedRun,
  binding: Pick<BoundRootManifest, "point" | "parent" | "created">,
  manifest: { rootId: string; bytes: number },
): RecoveryPointRecord {
  const { source } = run;
  return {
    id: binding.point,
    vaultId: ctx.config.vaultId,
    disk: run.disk,
    created: binding.created,
    parent: binding.parent,
    consistency: run.consistency ?? Consistency.Crash,
    logicalSize: source.size,
    bytesStored: run.sink.bytesStored + manifest.bytes,
    manifest: manifest.rootId,
    tier: Tier.Snapshot,
    state: PointState.Available,
    ...(source.sourceRef ? { sourceRef: source.sourceRef } : {}),
  };
}

/**
 * Whether a commit that failed may still have landed. An ambiguous failure may hide a commit that
 * landed: its references are kept then (a leak at worst), given back only when the point surely
 * does not exist.
 */
async function mayHaveLanded(ctx: VaultContext, pointId: string): Promise<boolean> {
  return ctx.deps.catalog.getRecoveryPoint(ctx.config.vaultId, pointId).then(
    () => true,
    (e: unknown) => !(e instanceof NotFoundError),
  );
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

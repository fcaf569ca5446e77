import { randomUUID } from "node:crypto";
import { BlockvaultError, ConflictError } from "../../errors.ts";
import { livenessWindowMs } from "../../util/liveness.ts";
import { abandonDeadJobs } from "../jobs/dead-jobs.ts";
import { LeaseKeeper, LeaseName } from "../jobs/heartbeat.ts";
import type { VaultContext } from "../store/vault-config.ts";
import { releaseAbandonedHolds } from "./abandoned-holds.ts";
import { MAX_INDEX_AGE_MS, TOMBSTONE_MS, trackedReferences } from "./chain.ts";
import { releaseDeadSegment } from "./release.ts";
import { releasePurgedPoints } from "./release-points.ts";
import { dropTombstones, sweepCondemned } from "./sweep.ts";

/**
 * Options of {@link collectGarbage}: none yet. A backup whose heartbeat lapsed is taken for a
 * crashed run (and marked abandoned): it no longer keeps the last point of its disk from being
 * released.
 */
export type CollectOptions = Record<string, never>;

/** What a garbage collection did. */
export interface CollectResult {
  /** Purged points whose blocks were released. */
  readonly pointsReleased: string[];
  /** Purged points kept for now: the last of a disk whose backup is running. */
  readonly pointsDeferred: string[];
  readonly segmentsReleased: number;
  readonly packsDeleted: string[];
  readonly bytesFreed: number;
  readonly indexObjectsRewritten: number;
  /** Condemned packs kept for a later run: they (or an index object naming them) are retained. */
  readonly packsRetained: string[];
  readonly tombstonesDropped: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Garbage collection: releases the blocks of purged recovery points and deletes the packs no
 * live or soft-deleted point references any more. The work follows what is released: the
 * points released, the segments whose holders change, the packs and index objects those touch.
 * One collector runs per vault at a time (a lease in the reference store, renewed while it works,
 * so a killed collector's lapses within the liveness window); everything it does is idempotent,
 * so a collector that stopped half-way is finished by the next.
 */
export async function collectGarbage(
  ctx: VaultContext,
  _options: CollectOptions = {},
): Promise<CollectResult> {
  const refs = await trackedReferences(ctx);
  if (!refs) {
    throw new BlockvaultError(
      "this vault does not track block references (it was created before garbage collection existed); purged points keep their blocks",
      { code: "GC_UNSUPPORTED" },
    );
  }
  const vaultId = ctx.config.vaultId;
  const lease = await LeaseKeeper.acquire(ctx, refs, LeaseName.GarbageCollection, `gc:${randomUUID()}`);
  if (!lease) throw new ConflictError("another garbage collection of this vault is running");
  try {
    await ctx.deps.store.removeLeftovers?.(livenessWindowMs()).catch(() => undefined);
    // Backups that died holding references for a point they never committed give them back.
    await abandonDeadJobs(ctx);
    await releaseAbandonedHolds(ctx, refs);
    const points = await releasePurgedPoints(ctx, refs);
    // Segments a crashed collector (or an undone backup) killed but did not finish releasing.
    const dead = await refs.listDeadSegments(vaultId);
    for (const segment of dead) await releaseDeadSegment(ctx, refs, segment);
    // Packs a failed backup stored and registered but never held: old enough that no backup can
    // still be about to hold them (a backup refuses to commit on an index older than that).
    const stale = await refs.listUnheldPacks(vaultId, ctx.deps.clock.now() - MAX_INDEX_AGE_MS - DAY_MS);
    for (const pack of stale) await refs.condemnPack(vaultId, pack.id, ctx.deps.clock.now());
    const sweep = await sweepCondemned(ctx, refs);
    const tombstonesDropped = await dropTombstones(ctx, refs, ctx.deps.clock.now() - TOMBSTONE_MS);
    return {
      pointsReleased: points.points,
      pointsDeferred: points.deferred,
      segmentsReleased: points.segmentsReleased + dead.length,
      packsDeleted: sweep.packsDeleted,
      bytesFreed: sweep.bytesFreed,
      indexObjectsRewritten: sweep.indexObjectsRewritten,
      packsRetained: sweep.packsRetained,
      tombstonesDropped,
    };
  } finally {
    await lease.release().catch(() => undefined);
  }
}

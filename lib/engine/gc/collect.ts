import { randomUUID } from "node:crypto";
import { BlockvaultError, ConflictError } from "../../errors.ts";
import type { VaultContext } from "../vault-config.ts";
import { MAX_INDEX_AGE_MS, TOMBSTONE_MS, trackedReferences } from "./chain.ts";
import { releaseDeadSegment } from "./release.ts";
import { releasePurgedPoints } from "./release-points.ts";
import { dropTombstones, sweepCondemned } from "./sweep.ts";

/** Options of {@link collectGarbage}. */
export interface CollectOptions {
  /**
   * A backup job started longer ago than this and still "running" is taken for a crashed run:
   * it no longer keeps the last point of its disk from being released. Default 24 hours.
   */
  readonly runningGraceMs?: number;
}

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

const LEASE = "garbage-collection";
const LEASE_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Garbage collection: releases the blocks of purged recovery points and deletes the packs no
 * live or soft-deleted point references any more. The work follows what is released: the
 * points released, the segments whose holders change, the packs and index objects those touch.
 * One collector runs per vault at a time (a lease in the reference store); everything it does
 * is idempotent, so a collector that stopped half-way is finished by the next.
 */
export async function collectGarbage(
  ctx: VaultContext,
  options: CollectOptions = {},
): Promise<CollectResult> {
  const refs = await trackedReferences(ctx);
  if (!refs) {
    throw new BlockvaultError(
      "this vault does not track block references (it was created before garbage collection existed); purged points keep their blocks",
      { code: "GC_UNSUPPORTED" },
    );
  }
  const vaultId = ctx.config.vaultId;
  const owner = randomUUID();
  const now = ctx.deps.clock.now();
  const acquired = await refs.acquireLease(vaultId, LEASE, owner, now + LEASE_MS, now).catch(async (err) => {
    // The answer may have been lost after the lease was taken: give it back (only this owner's
    // lease is freed), or every collector would be refused until it expired an hour later.
    await refs.releaseLease(vaultId, LEASE, owner).catch(() => {});
    throw err;
  });
  if (!acquired) {
    throw new ConflictError("another garbage collection of this vault is running");
  }
  try {
    const points = await releasePurgedPoints(ctx, refs, options.runningGraceMs ?? DAY_MS);
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
    await refs.releaseLease(vaultId, LEASE, owner);
  }
}

import { PointState, type RecoveryPointRecord } from "../../model.ts";
import { PointRelease, type ReferenceStore } from "../../ports/references.ts";
import { liveBackups } from "../jobs/dead-jobs.ts";
import type { VaultContext } from "../store/vault-config.ts";
import { RootCache } from "./chain.ts";
import { bySegment, holdersForRelease } from "./holders.ts";
import { releaseHolders } from "./release.ts";

/** What releasing purged points did. */
export interface PointsReleased {
  readonly points: string[];
  readonly segmentsReleased: number;
  /** Purged points kept because they are the last of a disk with a backup running. */
  readonly deferred: string[];
}

/**
 * Releases every purged point still in its disk's chain: each one's runs end, shorten or join
 * (see holders.ts), and segments nobody holds any more are released. A purged point that is
 * the last of its disk is released only when no backup of the disk is running, because a
 * running backup may be diffing against it (see the "releasing" handshake in retain.ts).
 */
export async function releasePurgedPoints(ctx: VaultContext, refs: ReferenceStore): Promise<PointsReleased> {
  const vaultId = ctx.config.vaultId;
  const [points, releases] = await Promise.all([
    ctx.deps.catalog.listRecoveryPoints(vaultId),
    refs.pointReleases(vaultId),
  ]);
  const unreleased = points.filter((p) => releases.get(p.id) !== PointRelease.Released);
  // Only disks with a purged point still to release are looked at: the work follows the purge.
  const disks = new Set(unreleased.filter((p) => p.state === PointState.Purged).map((p) => p.disk));
  const roots = new RootCache(ctx);
  const released: string[] = [];
  const deferred: string[] = [];
  let segmentsReleased = 0;
  for (const disk of [...disks].sort()) {
    // The catalog lists newest first (ties in reverse commit order): reversed, oldest first.
    const chain = unreleased.filter((p) => p.disk === disk).reverse();
    for (let i = 0; i < chain.length; i++) {
      const point = chain[i]!;
      if (point.state !== PointState.Purged) continue;
      const after = chain[i + 1];
      await refs.setPointRelease(vaultId, point.id, PointRelease.Releasing);
      if (!after && (await liveBackups(ctx, disk)).length > 0) {
        await refs.setPointRelease(vaultId, point.id, undefined);
        deferred.push(point.id);
        continue;
      }
      segmentsReleased += await releaseOne(ctx, refs, roots, disk, chain[i - 1], point, after);
      await refs.setPointRelease(vaultId, point.id, PointRelease.Released);
      released.push(point.id);
      chain.splice(i, 1);
      i--;
    }
  }
  return { points: released, segmentsReleased, deferred };
}

async function releaseOne(
  ctx: VaultContext,
  refs: ReferenceStore,
  roots: RootCache,
  disk: string,
  before: RecoveryPointRecord | undefined,
  point: RecoveryPointRecord,
  after: RecoveryPointRecord | undefined,
): Promise<number> {
  const [a, p, b] = await Promise.all([roots.point(before), roots.point(point), roots.point(after)]);
  const { add, remove } = holdersForRelease(disk, a, p!, b);
  for (const [segment, holders] of bySegment(add))
    await refs.holdSegment(ctx.config.vaultId, segment, holders, []);
  return releaseHolders(ctx, refs, bySegment(remove));
}

import { randomUUID } from "node:crypto";
import { ConflictError, RetainedObjectError } from "../../errors.ts";
import type { ReferenceStore } from "../../ports/references.ts";
import { mapLimit } from "../../util/concurrency.ts";
import { livenessWindowMs } from "../../util/liveness.ts";
import { takeInventory } from "../check/check.ts";
import { liveBackups } from "../jobs/dead-jobs.ts";
import { LeaseKeeper, LeaseName } from "../jobs/heartbeat.ts";
import { manifestKey, packKey } from "../store/layout.ts";
import type { VaultContext } from "../store/vault-config.ts";

/** Options of {@link reclaimOrphans}. */
export interface ReclaimOptions {
  /**
   * Only objects older than this are deleted (default 24 hours; never less than the liveness
   * window). A running backup's objects are kept safe by the order of reclaim's steps, not by
   * the grace period: see {@link reclaimOrphans}.
   */
  readonly graceMs?: number;
  /** Report what would be deleted, delete nothing. */
  readonly dryRun?: boolean;
}

/** What a reclaim deleted (or, in a dry run, would delete). */
export interface ReclaimResult {
  readonly packs: string[];
  readonly manifests: string[];
  readonly bytes: number;
  readonly dryRun: boolean;
  /**
   * Keys of orphans left in place because storage retention refuses their deletion (the
   * manifests of a point whose retention has not ended, say); a later reclaim tries again.
   */
  readonly retained: string[];
}

const DEFAULT_RECLAIM_GRACE_MS = 24 * 60 * 60 * 1000;

/**
 * Deletes what interrupted backups left and nothing refers to: packs no index object names, and
 * manifests no recovery point reaches, older than the grace period. Indexed packs are kept even
 * when no point uses them yet: the next backup reuses their blocks (releasing blocks of deleted
 * points is garbage collection, a separate step). Objects whose age the store does not report
 * are kept.
 *
 * What keeps a backup's objects safe is not the grace period (it may be 0) but this order: the
 * reclaim lease is taken first, then the running backups are looked at, and a live one (whose
 * heartbeat is fresh) makes reclaim refuse; a dead one is marked abandoned and no longer counts.
 * A backup that started later holds the same lease while it checks that every object it names
 * is present and commits, so it either sees what this reclaim deleted or waits until it is done.
 * Nothing younger than the liveness window is deleted, whatever the grace period.
 */
export async function reclaimOrphans(
  ctx: VaultContext,
  options: ReclaimOptions = {},
): Promise<ReclaimResult> {
  const refs = ctx.deps.references;
  const lease = refs ? await takeReclaimLease(ctx, refs) : undefined;
  try {
    // After the lease: a backup that commits from now on waits for it or sees the deletes.
    const graceMs = Math.max(options.graceMs ?? DEFAULT_RECLAIM_GRACE_MS, livenessWindowMs());
    const cutoff = ctx.deps.clock.now() - graceMs;
    if (!options.dryRun) await ctx.deps.store.removeLeftovers?.(livenessWindowMs());
    // A running backup's packs are not indexed yet, and it may be about to name an old orphan
    // manifest again (same bytes, same name: its put finds the object and does not refresh it).
    const [live] = await liveBackups(ctx);
    if (live) throw new ConflictError(`backup job ${live.id} is running; reclaim when it has finished`);
    const inv = await takeInventory(ctx);
    const old = (info: { modified?: number }) => info.modified !== undefined && info.modified <= cutoff;
    const packs = [...inv.packs].filter(([id, info]) => !inv.index.pack(id) && old(info));
    const manifests = [...inv.manifests].filter(([id, info]) => !inv.reachableManifests.has(id) && old(info));
    const retained: string[] = [];
    const remove = async (key: string) => {
      lease?.assertHeld();
      try {
        await ctx.deps.store.delete(key);
        return true;
      } catch (err) {
        // Under storage retention: left for a run after its date.
        if (!(err instanceof RetainedObjectError)) throw err;
        retained.push(key);
        return false;
      }
    };
    let kept = { packs, manifests };
    if (!options.dryRun) {
      const packsGone = await mapLimit(packs, 8, ([id]) => remove(packKey(id)));
      const manifestsGone = await mapLimit(manifests, 8, ([id]) => remove(manifestKey(id)));
      kept = {
        packs: packs.filter((_, i) => packsGone[i]),
        manifests: manifests.filter((_, i) => manifestsGone[i]),
      };
    }
    const bytes = [...kept.packs, ...kept.manifests].reduce((n, [, info]) => n + info.size, 0);
    return {
      packs: kept.packs.map(([id]) => id),
      manifests: kept.manifests.map(([id]) => id),
      bytes,
      dryRun: options.dryRun ?? false,
      retained: retained.sort(),
    };
  } finally {
    await lease?.release();
  }
}

/** The reclaim lease, waiting a window at most for a backup's commit or another reclaim. */
async function takeReclaimLease(ctx: VaultContext, refs: ReferenceStore): Promise<LeaseKeeper> {
  const lease = await LeaseKeeper.await(
    ctx,
    refs,
    LeaseName.Reclaim,
    `reclaim:${randomUUID()}`,
    livenessWindowMs(),
  );
  if (!lease) throw new ConflictError("another reclaim is running, or a backup is committing; try again");
  return lease;
}

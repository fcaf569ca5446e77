import { ConflictError, RetainedObjectError } from "../errors.ts";
import { JobStatus, JobType } from "../model.ts";
import { mapLimit } from "../util/concurrency.ts";
import { takeInventory } from "./check.ts";
import { manifestKey, packKey } from "./layout.ts";
import type { VaultContext } from "./vault-config.ts";

/** Options of {@link reclaimOrphans}. */
export interface ReclaimOptions {
  /**
   * Only objects older than this are deleted. A running backup writes packs before the index
   * that names them and manifests before its catalog record; the grace period is what keeps
   * its objects safe. Default 24 hours.
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
 */
export async function reclaimOrphans(
  ctx: VaultContext,
  options: ReclaimOptions = {},
): Promise<ReclaimResult> {
  const graceMs = options.graceMs ?? DEFAULT_RECLAIM_GRACE_MS;
  const cutoff = ctx.deps.clock.now() - graceMs;
  // A backup running now may be about to name an old orphan manifest again (same bytes, same
  // name: its put finds the object and does not refresh it). Jobs still "running" after the
  // grace period are crashed runs, not live ones.
  const running = await ctx.deps.catalog.listJobs(ctx.config.vaultId, { status: JobStatus.Running });
  const live = running.find((j) => j.type === JobType.Backup && j.started > cutoff);
  if (live) throw new ConflictError(`backup job ${live.id} is running; reclaim when it has finished`);
  const inv = await takeInventory(ctx);
  const old = (info: { modified?: number }) => info.modified !== undefined && info.modified <= cutoff;
  const packs = [...inv.packs].filter(([id, info]) => !inv.index.pack(id) && old(info));
  const manifests = [...inv.manifests].filter(([id, info]) => !inv.reachableManifests.has(id) && old(info));
  const retained: string[] = [];
  const remove = async (key: string) => {
    try {
      await ctx.deps.store.delete(key);
      return true;
    } catch (err) {
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
}

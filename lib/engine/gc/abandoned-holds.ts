import { BlockvaultError, NotFoundError } from "../../errors.ts";
import { type JobRecord, JobStatus, JobType } from "../../model.ts";
import type { ReferenceStore } from "../../ports/references.ts";
import { loadRoot } from "../points/manifest.ts";
import type { VaultContext } from "../store/vault-config.ts";
import { bySegment, holderId } from "./holders.ts";
import { releaseHolders } from "./release.ts";

/**
 * Job details a backup records before it holds references for its point (see backup.ts), so that
 * whoever finds the job abandoned can give back what a killed process held.
 */
export const PendingPoint = {
  /** The id the point would have been committed under. */
  point: "pendingPoint",
  /** Its root manifest, whose segment list says which holders the backup may have added. */
  root: "pendingRoot",
  /** Set once its holds were given back (or found to belong to a committed point). */
  settled: "pendingSettled",
} as const;

/**
 * Gives back the references held by backups that died between holding them and committing: for
 * each abandoned backup job that recorded a pending point which never reached the catalog, the
 * holder `<disk>/<slot>/<point>` is removed at every slot of its root (removing a holder never
 * added changes nothing), exactly as the backup's own undo would have. An abandoned job cannot
 * commit any more (its heartbeat is refused, see heartbeat.ts), so nothing can come to rely on
 * them. Returns how many jobs were settled.
 */
export async function releaseAbandonedHolds(ctx: VaultContext, refs: ReferenceStore): Promise<number> {
  const { catalog } = ctx.deps;
  const vaultId = ctx.config.vaultId;
  const jobs = (await catalog.listJobs(vaultId, { status: JobStatus.Abandoned })).filter(
    (j) =>
      j.type === JobType.Backup &&
      typeof j.detail?.[PendingPoint.point] === "string" &&
      !j.detail?.[PendingPoint.settled],
  );
  for (const job of jobs) {
    const point = String(job.detail![PendingPoint.point]);
    if (!(await committed(ctx, point))) await giveBack(ctx, refs, job, point);
    await catalog.updateJob(vaultId, job.id, { detail: { ...job.detail, [PendingPoint.settled]: true } });
  }
  return jobs.length;
}

async function committed(ctx: VaultContext, point: string): Promise<boolean> {
  return ctx.deps.catalog.getRecoveryPoint(ctx.config.vaultId, point).then(
    () => true,
    (err: unknown) => {
      if (err instanceof NotFoundError) return false;
      throw err;
    },
  );
}

async function giveBack(
  ctx: VaultContext,
  refs: ReferenceStore,
  job: JobRecord,
  point: string,
): Promise<void> {
  const root = String(job.detail![PendingPoint.root]);
  const disk = job.disk ?? "";
  let slots: readonly (string | null)[];
  try {
    slots = (await loadRoot(ctx.deps.store, ctx.secrets, root)).segments;
  } catch (err) {
    // Its root is gone (reclaimed): which segments it held can no longer be known; they leak.
    if (err instanceof BlockvaultError && !err.retryable) return;
    throw err;
  }
  const changes = slots.flatMap((segment, slot) =>
    segment === null ? [] : [{ segment, holder: holderId(disk, slot, point) }],
  );
  await releaseHolders(ctx, refs, bySegment(changes));
}

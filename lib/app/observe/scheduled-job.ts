import { AlreadyExistsError } from "../../errors.ts";
import { type JobRecord, JobStatus, type JobType } from "../../model.ts";
import type { Vault } from "../../vault.ts";

const DAY_MS = 86_400_000;

/** The run number of a schedule of one run every `everyDays` days (UTC days since the epoch). */
export function runNumber(everyDays: number, now: number): number {
  return Math.floor(now / (everyDays * DAY_MS));
}

/**
 * Records a scheduled run's job as running, conditionally on its id (derived from the schedule's
 * run number): resolves false when the run was already claimed, by this server's earlier tick or
 * by another server on the same vault, so each run happens once.
 */
export async function claimScheduledJob(
  vault: Vault,
  job: { id: string; type: JobType; disk?: string; detail: NonNullable<JobRecord["detail"]> },
): Promise<boolean> {
  const { catalog, clock } = vault.ctx.deps;
  try {
    await catalog.createJob({
      ...job,
      vaultId: vault.id,
      status: JobStatus.Running,
      started: clock.now(),
      bytesScanned: 0,
      bytesChanged: 0,
      bytesStored: 0,
      attempts: 1,
    });
    return true;
  } catch (err) {
    if (err instanceof AlreadyExistsError) return false;
    throw err;
  }
}

/** Ends a claimed run: completed, or failed with `error`; `detail` is added to the job's. */
export async function endScheduledJob(
  vault: Vault,
  id: string,
  outcome: { error?: string; detail?: NonNullable<JobRecord["detail"]>; bytesScanned?: number },
): Promise<JobRecord> {
  const { catalog, clock } = vault.ctx.deps;
  const job = await catalog.getJob(vault.id, id);
  return catalog.updateJob(
    vault.id,
    id,
    {
      status: outcome.error === undefined ? JobStatus.Completed : JobStatus.Failed,
      ended: clock.now(),
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
      ...(outcome.bytesScanned !== undefined ? { bytesScanned: outcome.bytesScanned } : {}),
      detail: { ...job.detail, ...outcome.detail },
    },
    { status: JobStatus.Running },
  );
}

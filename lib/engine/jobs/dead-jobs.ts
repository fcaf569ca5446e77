import { ConflictError } from "../../errors.ts";
import { type JobRecord, JobStatus, JobType } from "../../model.ts";
import { livenessNow, livenessWindowMs } from "../../util/liveness.ts";
import type { VaultContext } from "../store/vault-config.ts";

/**
 * A running backup without a heartbeat (recorded by a blockvault from before heartbeats) counts
 * as live for this long after it started, as it did then.
 */
const LEGACY_RUNNING_MS = 24 * 60 * 60 * 1000;

/** Whether a running job's process is dead: it sent a heartbeat, but none within the window. */
export function isDead(job: JobRecord, now: number): boolean {
  return (
    job.status === JobStatus.Running &&
    job.heartbeat !== undefined &&
    job.heartbeat < now - livenessWindowMs()
  );
}

/**
 * Marks every running job whose process is dead as `abandoned`, and returns the running jobs that
 * remain. Each mark is conditional on the heartbeat that was read, so a job that beat meanwhile
 * is left alone and two processes finding the same dead job do not both end it. Jobs without a
 * heartbeat (carried by a state machine, which ends them itself) are never marked.
 */
export async function abandonDeadJobs(ctx: VaultContext, disk?: string): Promise<JobRecord[]> {
  const { catalog, clock } = ctx.deps;
  const vaultId = ctx.config.vaultId;
  const running = await catalog.listJobs(vaultId, { status: JobStatus.Running, ...(disk ? { disk } : {}) });
  const now = livenessNow();
  const live: JobRecord[] = [];
  for (const job of running) {
    if (!isDead(job, now)) {
      live.push(job);
      continue;
    }
    await catalog
      .updateJob(
        vaultId,
        job.id,
        {
          status: JobStatus.Abandoned,
          ended: clock.now(),
          error: `abandoned: its process sent no heartbeat after ${new Date(job.heartbeat!).toISOString()}`,
        },
        { status: JobStatus.Running, heartbeat: job.heartbeat ?? null },
      )
      .catch((err: unknown) => {
        // It beat or ended meanwhile, or another finder ended it: counted as live, to be safe.
        if (!(err instanceof ConflictError)) throw err;
        live.push(job);
      });
  }
  return live;
}

/**
 * Backup jobs still running for real: dead ones are marked abandoned first (see
 * {@link abandonDeadJobs}); one without a heartbeat counts while it is younger than a day.
 */
export async function liveBackups(ctx: VaultContext, disk?: string): Promise<JobRecord[]> {
  const since = ctx.deps.clock.now() - LEGACY_RUNNING_MS;
  return (await abandonDeadJobs(ctx, disk)).filter(
    (j) => j.type === JobType.Backup && (j.heartbeat !== undefined || j.started > since),
  );
}

import { isDead } from "../engine/jobs/dead-jobs.ts";
import { JobHeartbeat } from "../engine/jobs/heartbeat.ts";
import type { JobStart } from "../engine/jobs/jobs.ts";
import type { VaultContext } from "../engine/store/vault-config.ts";
import { AlreadyExistsError, ConflictError } from "../errors.ts";
import { type JobRecord, JobStatus } from "../model.ts";
import { livenessNow } from "../util/liveness.ts";

/** A job this process has claimed and keeps alive until it ends it. */
export interface JobClaim {
  readonly job: JobRecord;
  /** Marks the job completed (only while this claim still holds it), merging `detail`. */
  complete(detail: NonNullable<JobRecord["detail"]>): Promise<void>;
  /** Stops the heartbeat. */
  stop(): void;
}

/**
 * Claims the job with the deterministic id `start.id`: creates it running, or takes over one
 * that failed, was abandoned, or whose process died (no heartbeat within the liveness window).
 * Every write is conditional, so of two claimants at once exactly one gets the job; the other,
 * like one finding the job completed or alive elsewhere, gets `undefined`.
 */
export async function claimJob(
  ctx: VaultContext,
  start: JobStart & { readonly id: string },
): Promise<JobClaim | undefined> {
  const job = (await createRunning(ctx, start)) ?? (await takeOver(ctx, start.id));
  if (!job) return undefined;
  const heartbeat = JobHeartbeat.start(ctx, job.id);
  return {
    job,
    complete: async (detail) => {
      await heartbeat.confirm();
      await ctx.deps.catalog.updateJob(
        ctx.config.vaultId,
        job.id,
        { status: JobStatus.Completed, ended: ctx.deps.clock.now(), detail: { ...job.detail, ...detail } },
        { status: JobStatus.Running },
      );
    },
    stop: () => heartbeat.stop(),
  };
}

async function createRunning(
  ctx: VaultContext,
  start: JobStart & { readonly id: string },
): Promise<JobRecord | undefined> {
  const job: JobRecord = {
    vaultId: ctx.config.vaultId,
    status: JobStatus.Running,
    started: ctx.deps.clock.now(),
    heartbeat: livenessNow(),
    bytesScanned: 0,
    bytesChanged: 0,
    bytesStored: 0,
    attempts: 1,
    ...start,
  };
  try {
    await ctx.deps.catalog.createJob(job);
    return job;
  } catch (err) {
    if (err instanceof AlreadyExistsError) return undefined;
    throw err;
  }
}

async function takeOver(ctx: VaultContext, id: string): Promise<JobRecord | undefined> {
  const { catalog, clock } = ctx.deps;
  const current = await catalog.getJob(ctx.config.vaultId, id);
  const retryable =
    current.status === JobStatus.Failed ||
    current.status === JobStatus.Abandoned ||
    isDead(current, livenessNow());
  if (!retryable) return undefined;
  try {
    return await catalog.updateJob(
      ctx.config.vaultId,
      id,
      {
        status: JobStatus.Running,
        started: clock.now(),
        heartbeat: livenessNow(),
        ended: undefined,
        error: undefined,
        attempts: current.attempts + 1,
      },
      { status: current.status, heartbeat: current.heartbeat ?? null },
    );
  } catch (err) {
    // Another claimant took it first.
    if (err instanceof ConflictError) return undefined;
    throw err;
  }
}

import { randomUUID } from "node:crypto";
import { asBlockvaultError, type BlockvaultError, ConflictError } from "../../errors.ts";
import { type JobRecord, JobStatus, type JobType } from "../../model.ts";
import { livenessNow } from "../../util/liveness.ts";
import type { VaultContext } from "../store/vault-config.ts";

/** What a new job is about. */
export interface JobStart {
  readonly type: JobType;
  readonly disk?: string;
  readonly recoveryPoint?: string;
  readonly detail?: JobRecord["detail"];
}

/**
 * Records a running job and returns its id. With `heartbeat`, the job starts with one: this
 * process runs it to its end and keeps it fresh (see heartbeat.ts), and a job whose heartbeat
 * stops is taken for dead. Jobs a state machine carries across processes have none.
 */
export async function startJob(
  ctx: VaultContext,
  start: JobStart,
  options: { readonly heartbeat?: boolean } = {},
): Promise<string> {
  const id = randomUUID();
  try {
    await ctx.deps.catalog.createJob({
      id,
      vaultId: ctx.config.vaultId,
      status: JobStatus.Running,
      started: ctx.deps.clock.now(),
      ...(options.heartbeat ? { heartbeat: livenessNow() } : {}),
      bytesScanned: 0,
      bytesChanged: 0,
      bytesStored: 0,
      attempts: 1,
      ...start,
    });
  } catch (err) {
    // The create may have landed with its answer lost: the operation stops here, so its job must
    // not look running for ever (run-due would take it for the slot's backup and never run one).
    await failJob(ctx, id, err, `recording the ${start.type} job`);
    throw err;
  }
  return id;
}

/**
 * Starts a job that was recorded earlier (queued by the scheduler, or an earlier attempt that
 * failed or was abandoned): marks it running again, with a fresh heartbeat (this process runs it
 * to its end), counting the attempt. A job already completed is a
 * `ConflictError`: a redelivered request must not run it twice.
 */
export async function resumeJob(
  ctx: VaultContext,
  jobId: string,
  changes: { readonly attempt?: number; readonly detail?: JobRecord["detail"] } = {},
): Promise<JobRecord> {
  const job = await ctx.deps.catalog.getJob(ctx.config.vaultId, jobId);
  if (job.status === JobStatus.Completed) throw new ConflictError(`job ${jobId} has already completed`);
  const now = ctx.deps.clock.now();
  return ctx.deps.catalog.updateJob(ctx.config.vaultId, jobId, {
    status: JobStatus.Running,
    started: now,
    heartbeat: livenessNow(),
    ended: undefined,
    error: undefined,
    attempts: changes.attempt ?? job.attempts + 1,
    ...(changes.detail ? { detail: { ...job.detail, ...changes.detail } } : {}),
  });
}

/**
 * Marks a job failed with the error's message and returns the error as a BlockvaultError. A
 * failure to record the status is swallowed: the original failure is what the caller must see.
 */
export async function failJob(
  ctx: VaultContext,
  jobId: string,
  err: unknown,
  what: string,
): Promise<BlockvaultError> {
  const error = asBlockvaultError(err, what);
  // A duplicate run of a job that another run completed must not mark it failed.
  const current = await ctx.deps.catalog.getJob(ctx.config.vaultId, jobId).catch(() => undefined);
  if (current?.status === JobStatus.Completed) return error;
  await ctx.deps.catalog
    .updateJob(ctx.config.vaultId, jobId, {
      status: JobStatus.Failed,
      ended: ctx.deps.clock.now(),
      error: error.message,
    })
    .catch(() => {});
  return error;
}

import { createHash } from "node:crypto";
import { startJob } from "../../engine/jobs/jobs.ts";
import { AlreadyExistsError, NotFoundError, ValidationError } from "../../errors.ts";
import { JobStatus, JobType } from "../../model.ts";
import type { AppContext } from "../app-context.ts";
import { jobDetail, optionalCount, optionalText, type TaskEvent, text } from "./input.ts";
import { systemVault } from "./system-vault.ts";

/** The job types a state machine creates for itself (restore jobs are created by the API). */
const MACHINE_JOB_TYPES: readonly string[] = [JobType.Tiering, JobType.Purge];

/**
 * A job id derived from the execution id, shaped like a UUID: a retried `start-job` (a lost
 * Lambda response) finds the job it already created instead of leaving a second one running.
 */
function executionJobId(execution: string): string {
  const hex = createHash("sha256").update(`blockvault/job/${execution}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** `start-job`: records the running tiering or purge job of this execution. */
export async function startMachineJob(app: AppContext, event: TaskEvent): Promise<{ jobId: string }> {
  const type = text(event, "type");
  if (!MACHINE_JOB_TYPES.includes(type)) {
    throw new ValidationError(`type must be one of ${MACHINE_JOB_TYPES.join(", ")}`);
  }
  const jobType = type as typeof JobType.Tiering | typeof JobType.Purge;
  const vault = await systemVault(app);
  const execution = optionalText(event, "execution");
  if (execution === undefined) return { jobId: await startJob(vault.ctx, { type: jobType }) };
  const jobId = executionJobId(execution);
  try {
    await vault.ctx.deps.catalog.createJob({
      id: jobId,
      vaultId: vault.id,
      type: jobType,
      status: JobStatus.Running,
      started: vault.ctx.deps.clock.now(),
      bytesScanned: 0,
      bytesChanged: 0,
      bytesStored: 0,
      attempts: 1,
      detail: { execution },
    });
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
  }
  return { jobId };
}

/** `complete-job`: marks a job completed, adding the machine's counts to its details. */
export async function completeJob(
  app: AppContext,
  event: TaskEvent,
): Promise<Record<string, string | number | boolean>> {
  const jobId = text(event, "jobId");
  const bytes = optionalCount(event, "bytes", 0);
  const detail = jobDetail(event.detail);
  const vault = await systemVault(app);
  const { catalog, clock } = vault.ctx.deps;
  const job = await catalog.getJob(vault.id, jobId);
  await catalog.updateJob(vault.id, jobId, {
    status: JobStatus.Completed,
    ended: clock.now(),
    error: undefined,
    detail: { ...job.detail, ...detail },
    ...(bytes ? { bytesScanned: bytes } : {}),
  });
  return { jobId, status: JobStatus.Completed, ...(bytes !== undefined ? { bytes } : {}), ...detail };
}

/** The job a failed execution was running: the restore's own, or the one `start-job` made. */
function failedJobId(input: Readonly<Record<string, unknown>>): string | undefined {
  if (typeof input.jobId === "string") return input.jobId;
  const job = input.job as { jobId?: unknown } | undefined;
  return typeof job?.jobId === "string" ? job.jobId : undefined;
}

/**
 * The message of a caught error. Step Functions gives a Lambda error's `Cause` as the JSON the
 * runtime reported (`{errorType, errorMessage, trace}`); other errors (`States.*`) give text.
 */
export function causeMessage(error: unknown): { name: string; message: string } {
  const { Error: name, Cause: cause } = (error ?? {}) as { Error?: unknown; Cause?: unknown };
  const errorName = typeof name === "string" ? name : "Error";
  if (typeof cause !== "string") return { name: errorName, message: "no cause given" };
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === "string") return { name: errorName, message: parsed.errorMessage };
  } catch {
    // Not JSON: the cause is the message itself.
  }
  return { name: errorName, message: cause };
}

/** The alert a failed execution publishes (the machine's `Alert` state sends it to the topic). */
export interface FailureAlert {
  readonly subject: string;
  readonly message: string;
  readonly jobId?: string;
}

/**
 * `fail-job`: marks the execution's job failed with the error that ended it and returns the
 * alert to publish. The machine publishes it itself (an SNS task), so that a failure of this
 * function still alerts. A job that cannot be found (the failure was that it does not exist, or
 * `start-job` never ran) still gets its alert.
 */
export async function failMachineJob(
  app: AppContext,
  event: TaskEvent,
): Promise<{ jobId?: string; error: string; alert: FailureAlert }> {
  const machine = text(event, "machine");
  const input = (event.input ?? {}) as Readonly<Record<string, unknown>>;
  const { name, message } = causeMessage(input.error);
  const error = `${name}: ${message}`;
  const jobId = failedJobId(input);
  if (jobId !== undefined) {
    const vault = await systemVault(app);
    await vault.ctx.deps.catalog
      .updateJob(vault.id, jobId, { status: JobStatus.Failed, ended: vault.ctx.deps.clock.now(), error })
      .catch((err: unknown) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
  }
  const alert: FailureAlert = {
    subject: `blockvault ${machine} failed`,
    message: jobId === undefined ? error : `job ${jobId}: ${error}`,
    ...(jobId !== undefined ? { jobId } : {}),
  };
  return { ...(jobId !== undefined ? { jobId } : {}), error, alert };
}

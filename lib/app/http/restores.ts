import { randomUUID } from "node:crypto";
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from "../../errors.ts";
import { type JobRecord, JobStatus, JobType } from "../../model.ts";
import { Machine } from "../../ports/workflows.ts";
import { Operation } from "../../rules/roles.ts";
import { restoreFormat } from "../../util/restore-format.ts";
import { type Call, param } from "./call.ts";
import { idempotentJobId, requestDigest } from "./idempotency.ts";
import { type RestoreRequest, restoreJobRecord, restoreView } from "./restore-job.ts";
import { type HttpResponse, json } from "./types.ts";

async function findJob(call: Call, id: string): Promise<JobRecord | undefined> {
  return call.vault.ctx.deps.catalog.getJob(call.vault.id, id).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
}

/** The input of the restore state machine (and of the embedded runner). */
function machineInput(jobId: string, request: RestoreRequest): Record<string, unknown> {
  return {
    jobId,
    pointId: request.recoveryPointId,
    target: request.target,
    ...(request.range ? { range: request.range } : {}),
  };
}

function accepted(job: JobRecord): HttpResponse {
  return json(202, { jobId: job.id, status: job.status }, { location: `/restores/${job.id}` });
}

/**
 * Starts the state machine of a queued job. The execution is named after the job, so a repeat
 * starts nothing new. A failure to start a job without Idempotency-Key marks it failed (nobody
 * can resume it); with a key the job stays queued and repeating the request starts it.
 */
async function startMachine(call: Call, job: JobRecord, request: RestoreRequest, keyed: boolean) {
  try {
    await call.app.workflows.start(Machine.Restore, job.id, machineInput(job.id, request));
  } catch (err) {
    if (!keyed) {
      await call.vault.ctx.deps.catalog
        .updateJob(call.vault.id, job.id, {
          status: JobStatus.Failed,
          ended: call.vault.ctx.deps.clock.now(),
          error: `the restore could not be started: ${(err as Error).message}`,
        })
        .catch(() => {});
    }
    throw err;
  }
}

/** A request repeated with its Idempotency-Key: the first request's job, if it was the same. */
async function replay(
  call: Call,
  job: JobRecord,
  request: RestoreRequest,
  key: string,
): Promise<HttpResponse> {
  if (job.detail?.requestDigest !== requestDigest(request)) {
    throw new ConflictError(
      `Idempotency-Key "${key}" was already used for a different restore request (job ${job.id})`,
    );
  }
  // Covers a first attempt that recorded the job but failed before its machine started.
  if (job.status === JobStatus.Queued) await startMachine(call, job, request, true);
  return accepted(job);
}

/** The requested byte range, checked against the disk (the schema checked its form). */
function checkRange(request: RestoreRequest, size: number): void {
  const range = request.range;
  if (range && range.offset + range.length > size) {
    throw new ValidationError(
      `body.range must lie inside the disk (${size} bytes), got offset ${range.offset} and length ${range.length}`,
    );
  }
}

/**
 * `POST /restores`: checks everything first (the point is restorable, the range fits), then
 * records a queued restore job and starts the restore state machine for it.
 */
export async function startRestore(call: Call): Promise<HttpResponse> {
  const request = call.body as RestoreRequest;
  const key = call.headers["idempotency-key"] as string | undefined;
  const { vault } = call;
  return vault.audited("restore.start", Operation.Restore, request.recoveryPointId, async () => {
    const id = key === undefined ? randomUUID() : idempotentJobId(vault.id, key);
    const existing = key === undefined ? undefined : await findJob(call, id);
    if (existing && key !== undefined) return replay(call, existing, request, key);
    await call.app.checkTarget?.(request.target, call.principal);
    const point = await vault.getPoint(request.recoveryPointId);
    checkRange(request, point.logicalSize);
    if (request.target.kind === "file") restoreFormat(request.target.format, request.range !== undefined);
    const job = restoreJobRecord({
      id,
      point,
      request,
      requestedBy: call.principal.name,
      digest: requestDigest(request),
      idempotencyKey: key,
      now: vault.ctx.deps.clock.now(),
    });
    try {
      await vault.ctx.deps.catalog.createJob(job);
    } catch (err) {
      // A concurrent request with the same key won the create: answer as its repeat.
      if (key === undefined || !(err instanceof AlreadyExistsError)) throw err;
      return replay(call, await vault.ctx.deps.catalog.getJob(vault.id, id), request, key);
    }
    await startMachine(call, job, request, key !== undefined);
    return accepted(job);
  });
}

/** `GET /restores/{id}`: a restore job, whichever way it was started. */
export async function getRestore(call: Call): Promise<HttpResponse> {
  call.vault.authorize(Operation.Read);
  const id = param(call, "id");
  const job = await findJob(call, id);
  if (!job || job.type !== JobType.Restore) throw new NotFoundError(`restore job ${id} does not exist`);
  return json(200, restoreView(job));
}

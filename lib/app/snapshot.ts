import type { BackupResult } from "../engine/backup/backup.ts";
import { ConflictError } from "../errors.ts";
import { JobStatus } from "../model.ts";
import type { SnapshotRequest } from "../ports/queue.ts";
import type { AppContext } from "./app-context.ts";
import { SYSTEM_PRINCIPAL } from "./system.ts";

/** How one delivery of a request went. */
export type SnapshotOutcome =
  | { readonly status: "completed"; readonly result: BackupResult }
  | { readonly status: "duplicate" };

/** Which delivery of the message this is, and how many the queue allows before dead-lettering. */
export interface Delivery {
  readonly attempt: number;
  readonly maxAttempts: number;
}

/**
 * Runs the backup job a snapshot request names: opens the disk's source, backs it up as the
 * scheduler's job (attempts counted per delivery), and reports success. A request whose job has
 * already completed is a duplicate delivery and does nothing. On failure the job is marked
 * failed and the error rethrown so the queue redelivers; on the last allowed attempt an alert is
 * published as well, since the message goes to the dead-letter queue next.
 */
export async function runSnapshot(
  app: AppContext,
  request: SnapshotRequest,
  delivery: Delivery,
): Promise<SnapshotOutcome> {
  const vault = (await app.vault()).as(SYSTEM_PRINCIPAL);
  const job = await vault.ctx.deps.catalog.getJob(vault.id, request.jobId);
  if (job.status === JobStatus.Completed) return { status: "duplicate" };
  try {
    const disk = await vault.ctx.deps.catalog.getDisk(vault.id, request.disk);
    const source = await app.openSource(disk.source);
    try {
      const result = await vault.backup(source, {
        disk: request.disk,
        jobDetail: { slot: request.slot },
        job: { id: request.jobId, attempt: delivery.attempt },
      });
      return { status: "completed", result };
    } finally {
      await source.close();
    }
  } catch (err) {
    if (err instanceof ConflictError && /already completed/.test(err.message)) return { status: "duplicate" };
    await markFailed(app, request, err, delivery);
    throw err;
  }
}

async function markFailed(
  app: AppContext,
  request: SnapshotRequest,
  err: unknown,
  delivery: Delivery,
): Promise<void> {
  const vault = await app.vault();
  const message = err instanceof Error ? err.message : String(err);
  // The backup marks its job failed itself; a failure before it started (source unreadable,
  // disk gone) must be recorded here.
  const current = await vault.ctx.deps.catalog.getJob(vault.id, request.jobId).catch(() => undefined);
  if (current?.status === JobStatus.Completed) return;
  await vault.ctx.deps.catalog
    .updateJob(vault.id, request.jobId, {
      status: JobStatus.Failed,
      ended: vault.ctx.deps.clock.now(),
      error: message,
      attempts: delivery.attempt,
    })
    .catch(() => {});
  if (delivery.attempt >= delivery.maxAttempts) {
    await app.alerts
      .publish({
        subject: `blockvault: backup of disk ${request.disk} failed`,
        message: `job ${request.jobId} failed after ${delivery.attempt} attempts: ${message}`,
        jobId: request.jobId,
      })
      .catch(() => {});
  }
}

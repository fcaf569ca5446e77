import { type JobRecord, JobStatus, JobType, type RecoveryPointRecord } from "../../model.ts";
import type { ByteRange } from "../../ports/object-store.ts";
import { restoreFormat } from "../../util/restore-format.ts";
import type { RestoreTargetSpec } from "../app-context.ts";
import { publicMessage } from "./errors.ts";

/** The body of `POST /restores`, once valid against the spec. */
export interface RestoreRequest {
  readonly recoveryPointId: string;
  readonly target: RestoreTargetSpec;
  readonly range?: ByteRange;
}

/** Job details are flat scalars: the target spec is spread over `target*` fields. */
function targetDetail(target: RestoreTargetSpec): Record<string, string | boolean> {
  switch (target.kind) {
    case "file":
      return {
        targetKind: target.kind,
        targetPath: target.path,
        ...flag(target.force),
        ...(target.format ? { targetFormat: target.format } : {}),
      };
    case "s3":
      return { targetKind: target.kind, targetUrl: target.url, ...flag(target.force) };
    case "ebs-snapshot":
      return {
        targetKind: target.kind,
        ...(target.description !== undefined ? { targetDescription: target.description } : {}),
      };
  }
}

function flag(force: boolean | undefined): Record<string, boolean> {
  return force === undefined ? {} : { targetForce: force };
}

/** The target a restore job was requested with, or undefined for one not started over HTTP. */
export function targetOf(job: JobRecord): RestoreTargetSpec | undefined {
  const d = job.detail ?? {};
  const force = typeof d.targetForce === "boolean" ? { force: d.targetForce } : {};
  switch (d.targetKind) {
    case "file": {
      const format = d.targetFormat === undefined ? {} : { format: restoreFormat(d.targetFormat, false) };
      return { kind: "file", path: String(d.targetPath), ...force, ...format };
    }
    case "s3":
      return { kind: "s3", url: String(d.targetUrl), ...force };
    case "ebs-snapshot":
      return {
        kind: "ebs-snapshot",
        ...(d.targetDescription !== undefined ? { description: String(d.targetDescription) } : {}),
      };
    default:
      return undefined;
  }
}

/** The queued job record of a restore requested over HTTP, before its state machine starts. */
export function restoreJobRecord(args: {
  readonly id: string;
  readonly point: RecoveryPointRecord;
  readonly request: RestoreRequest;
  readonly requestedBy: string;
  readonly digest: string;
  readonly idempotencyKey: string | undefined;
  readonly now: number;
}): JobRecord {
  const { point, request } = args;
  return {
    id: args.id,
    vaultId: point.vaultId,
    type: JobType.Restore,
    status: JobStatus.Queued,
    disk: point.disk,
    recoveryPoint: point.id,
    started: args.now,
    bytesScanned: 0,
    bytesChanged: 0,
    bytesStored: 0,
    attempts: 0,
    detail: {
      ...targetDetail(request.target),
      ...(request.range ? { offset: request.range.offset, length: request.range.length } : {}),
      requestedBy: args.requestedBy,
      requestDigest: args.digest,
      ...(args.idempotencyKey !== undefined ? { idempotencyKey: args.idempotencyKey } : {}),
    },
  };
}

/** A restore job as `GET /restores/{id}` shows it (the spec's RestoreJob). */
export function restoreView(job: JobRecord): Record<string, unknown> {
  const d = job.detail ?? {};
  const target = targetOf(job);
  const range =
    typeof d.offset === "number" && typeof d.length === "number"
      ? { offset: d.offset, length: d.length }
      : undefined;
  return {
    jobId: job.id,
    status: job.status,
    ...(job.recoveryPoint !== undefined ? { recoveryPointId: job.recoveryPoint } : {}),
    ...(job.disk !== undefined ? { disk: job.disk } : {}),
    ...(target ? { target } : typeof d.target === "string" ? { destination: d.target } : {}),
    ...(range ? { range } : {}),
    started: job.started,
    ...(job.ended !== undefined ? { ended: job.ended } : {}),
    ...(job.status === JobStatus.Completed ? { bytesRestored: job.bytesScanned } : {}),
    // Where the restored image is: the file, the S3 object, the new EBS snapshot's id.
    ...(typeof d.restoredTo === "string" ? { restoredTo: d.restoredTo } : {}),
    // A failure's message as a response may carry it (no SDK class names, no stack frames).
    ...(job.error !== undefined ? { error: publicMessage(job.error) } : {}),
  };
}

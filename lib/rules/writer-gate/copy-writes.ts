/*
 * What a copy into this vault writes beyond a backup's (the copy's writer is this vault's gate's
 * caller, in another account: see docs/design.md "Copies to a second vault"). Every one only adds:
 * a disk of copies, a backup job of a copy, a later retention end of a copy. None can remove,
 * shorten or redirect anything that exists.
 */

import { COPY_REF_PREFIX } from "../../engine/copy/point-source.ts";
import { AccessDeniedError, NotFoundError } from "../../errors.ts";
import { type DiskRecord, type JobRecord, JobStatus, JobType, PointState } from "../../model.ts";
import type { Catalog, RecoveryPointChanges } from "../../ports/catalog.ts";

/** The longest a copy may be kept, as a copy rule's `retention.days` allows (policy.ts). */
const MAX_COPY_DAYS = 36_500;
const DAY_MS = 24 * 60 * 60 * 1000;

function refused(what: string): AccessDeniedError {
  return new AccessDeniedError(`the snapshot writer may not ${what}`);
}

function isCopyJob(job: Pick<JobRecord, "type" | "detail">): boolean {
  const copyOf = job.detail?.copyOf;
  return job.type === JobType.Backup && typeof copyOf === "string" && copyOf.startsWith(COPY_REF_PREFIX);
}

/** A disk no policy protects: the only kind a copy may create or back up into. */
async function unprotectedOrMissing(catalog: Catalog, vaultId: string, disk: string): Promise<void> {
  const stored = await catalog.getDisk(vaultId, disk).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  if (stored?.policy !== undefined)
    throw refused(`copy into disk ${disk}, which policy ${stored.policy} protects`);
}

/**
 * `createJob`: a running backup job of a copy (its `copyOf` names the copied point), of a disk no
 * policy protects. Jobs are created conditionally on their id, so none is replaced.
 */
export async function createCopyJob(catalog: Catalog, job: JobRecord): Promise<void> {
  if (!isCopyJob(job) || job.status !== JobStatus.Running || job.disk === undefined)
    throw refused(`create a ${job.type} job that is not a running copy`);
  if (job.recoveryPoint !== undefined) throw refused(`create job ${job.id} naming a point`);
  await unprotectedOrMissing(catalog, job.vaultId, job.disk);
  return catalog.createJob(job);
}

/**
 * `putDisk` of a disk that does not exist: created only for a copy, with no policy, while a
 * running copy job of that disk is taking its first point.
 */
export async function createCopyDisk(catalog: Catalog, disk: DiskRecord): Promise<void> {
  if (disk.policy !== undefined) throw refused(`create disk ${disk.name} under a policy`);
  const running = await catalog.listJobs(disk.vaultId, { status: JobStatus.Running, disk: disk.name });
  if (!running.some(isCopyJob)) throw refused(`create disk ${disk.name}`);
  return catalog.putDisk(disk);
}

/**
 * `updateRecoveryPoint`: a copy's retention end raised, and nothing else: of an available point
 * that is a copy, later than the one it has, and within the longest a copy rule keeps a copy.
 */
export async function raiseCopyRetention(
  catalog: Catalog,
  vaultId: string,
  id: string,
  changes: RecoveryPointChanges,
): Promise<unknown> {
  const fields = Object.keys(changes);
  if (fields.length !== 1 || fields[0] !== "retainUntil" || typeof changes.retainUntil !== "number")
    throw refused(`change ${fields.join(", ") || "nothing"} of point ${id}`);
  const point = await catalog.getRecoveryPoint(vaultId, id);
  if (point.state !== PointState.Available || !point.sourceRef?.startsWith(COPY_REF_PREFIX))
    throw refused(`change the retention of point ${id}, which is not an available copy`);
  const until = changes.retainUntil;
  if (until <= (point.retainUntil ?? 0)) throw refused(`shorten the retention of point ${id}`);
  if (until > point.created + MAX_COPY_DAYS * DAY_MS)
    throw refused(`keep point ${id} longer than ${MAX_COPY_DAYS} days`);
  return catalog.updateRecoveryPoint(vaultId, id, { retainUntil: until });
}

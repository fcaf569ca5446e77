import { LeaseName } from "../../engine/jobs/heartbeat.ts";
import { AccessDeniedError, NotFoundError } from "../../errors.ts";
import {
  type AuditEntry,
  type DiskRecord,
  type JobRecord,
  JobStatus,
  JobType,
  PointState,
  type RecoveryPointRecord,
  Tier,
} from "../../model.ts";
import type { Catalog, JobChanges, JobExpectation, RecoveryPointChanges } from "../../ports/catalog.ts";
import type { ReferenceStore } from "../../ports/references.ts";
import type { WriterCall } from "../../ports/writer-gate.ts";
import { createCopyDisk, createCopyJob, raiseCopyRetention } from "./copy-writes.ts";

/** The full-rights ports the gate writes with, on the writer's behalf. */
export interface GatePorts {
  readonly catalog: Catalog;
  readonly references: ReferenceStore;
}

/** The name the snapshot writer records in the audit log (the scheduler's system principal). */
const WRITER_PRINCIPAL = "system";

type Check = (ports: GatePorts, args: readonly unknown[]) => Promise<unknown>;

/**
 * What a backup may write, and on what condition. Each entry checks the call against the stored
 * records and makes it with full rights only if it passes; every other method is refused. The
 * conditions are what make a stolen writer credential harmless to what exists: it can add
 * points, packs and holds, move its own unfinished backup job, and make copies (a disk, a job, a
 * later retention end: copy-writes.ts), but not change a committed
 * point, a disk's policy or source, the settings, a policy, an approval, a finished job, or give
 * back a hold a committed point relies on.
 */
const CHECKS: Readonly<Record<string, Check>> = {
  "catalog.updateJob": (ports, [vaultId, id, changes, expected]) =>
    updateOwnBackupJob(
      ports,
      vaultId as string,
      id as string,
      changes as JobChanges,
      expected as JobExpectation,
    ),
  "catalog.commitRecoveryPoint": (ports, [point, parent]) =>
    commitPendingPoint(ports, point as RecoveryPointRecord, parent as string | null),
  "catalog.putDisk": (ports, [disk]) => confirmDisk(ports, disk as DiskRecord),
  "catalog.createJob": (ports, [job]) => createCopyJob(ports.catalog, job as JobRecord),
  "catalog.updateRecoveryPoint": (ports, [v, id, changes]) =>
    raiseCopyRetention(ports.catalog, v as string, id as string, changes as RecoveryPointChanges),
  "catalog.appendAudit": (ports, [entry]) => appendWriterAudit(ports, entry as AuditEntry),
  "references.registerPacks": (ports, [v, packs, at]) =>
    ports.references.registerPacks(v as string, packs as string[], at as number),
  "references.setPackIndex": (ports, [v, packs, index]) =>
    indexNewPacks(ports, v as string, packs as string[], index as string),
  "references.holdSegments": (ports, [v, segments]) =>
    ports.references.holdSegments(v as string, segments as Parameters<ReferenceStore["holdSegments"]>[1]),
  "references.holdPacks": (ports, [v, holds]) =>
    ports.references.holdPacks(v as string, holds as Parameters<ReferenceStore["holdPacks"]>[1]),
  "references.acquireLease": (ports, [v, name, owner, until, now]) =>
    commitLease(name).then(() =>
      ports.references.acquireLease(
        v as string,
        name as string,
        owner as string,
        until as number,
        now as number,
      ),
    ),
  "references.releaseLease": (ports, [v, name, owner]) =>
    commitLease(name).then(() => ports.references.releaseLease(v as string, name as string, owner as string)),
  "references.releaseSegment": (ports, [v, segment, holders]) =>
    releaseUncommittedHolders(ports, v as string, segment as string, holders as string[]),
  // The store itself refuses to kill a segment anyone still holds.
  "references.killSegment": (ports, [v, segment]) =>
    ports.references.killSegment(v as string, segment as string),
};

/** The methods a writer may call through the gate (each under the conditions above). */
export const WRITER_METHODS: ReadonlySet<string> = new Set(Object.keys(CHECKS));

/** Makes one writer call if what a backup may write allows it; refuses it otherwise. */
export async function serveWriterCall(ports: GatePorts, call: WriterCall): Promise<unknown> {
  const check = CHECKS[`${call.port}.${call.method}`];
  if (!check) throw refused(`call ${call.port}.${call.method}`);
  return check(ports, call.args);
}

function refused(what: string): AccessDeniedError {
  return new AccessDeniedError(`the snapshot writer may not ${what}`);
}

/** A backup job that has not completed, changed in anything but what it is about. */
async function updateOwnBackupJob(
  { catalog }: GatePorts,
  vaultId: string,
  id: string,
  changes: JobChanges,
  expected: JobExpectation | undefined,
) {
  const job = await catalog.getJob(vaultId, id);
  if (job.type !== JobType.Backup) throw refused(`change ${job.type} job ${id}`);
  if (job.status === JobStatus.Completed) throw refused(`change job ${id}, which has completed`);
  for (const field of ["type", "disk"] as const) {
    if (field in changes && changes[field] !== job[field]) throw refused(`change the ${field} of job ${id}`);
  }
  if (changes.status === JobStatus.Completed)
    await mustNameCommittedPoint(catalog, vaultId, job.disk, changes);
  return catalog.updateJob(vaultId, id, changes, expected);
}

/** A job reported completed names the point it committed, of its own disk. */
async function mustNameCommittedPoint(
  catalog: Catalog,
  vaultId: string,
  disk: string | undefined,
  changes: JobChanges,
) {
  const pointId = changes.recoveryPoint;
  const point = pointId ? await catalog.getRecoveryPoint(vaultId, pointId).catch(() => undefined) : undefined;
  if (!point || point.disk !== disk)
    throw refused("report a backup completed without the point it committed");
}

/**
 * A new point, as a backup commits it: of an existing disk, available in the snapshot tier, with
 * no retention or deletion of its own yet, and the pending point of a running backup job of that
 * disk (the job records it before holding references: see engine/backup/backup-point.ts).
 */
async function commitPendingPoint({ catalog }: GatePorts, point: RecoveryPointRecord, parent: string | null) {
  await catalog.getDisk(point.vaultId, point.disk);
  if (point.state !== PointState.Available || point.tier !== Tier.Snapshot)
    throw refused(`commit point ${point.id} as ${point.state} in the ${point.tier} tier`);
  if (point.retainUntil !== undefined || point.deleteAfter !== undefined)
    throw refused(`set the retention or deletion of point ${point.id}`);
  const running = await catalog.listJobs(point.vaultId, { status: JobStatus.Running, disk: point.disk });
  const pending = running.some((j) => j.type === JobType.Backup && j.detail?.pendingPoint === point.id);
  if (!pending)
    throw refused(`commit point ${point.id}: no running backup of disk ${point.disk} is taking it`);
  return catalog.commitRecoveryPoint(point, parent);
}

/**
 * A backup re-records its disk after a backup; through the gate that changes nothing: the disk's
 * creation, size and policy are the operator's (a change is refused), and its source is what its
 * protection named (a writer cannot redirect the next backups elsewhere), so nothing is written.
 * A disk that does not exist is created only for a copy (see copy-writes.ts).
 */
async function confirmDisk({ catalog }: GatePorts, disk: DiskRecord) {
  const stored = await catalog.getDisk(disk.vaultId, disk.name).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  if (!stored) return createCopyDisk(catalog, disk);
  for (const field of ["created", "size", "policy"] as const) {
    if (stored[field] !== disk[field]) throw refused(`change the ${field} of disk ${disk.name}`);
  }
}

/** An audit entry in the writer's own name (it cannot write one for anybody else). */
async function appendWriterAudit({ catalog }: GatePorts, entry: AuditEntry) {
  if (entry.principal !== WRITER_PRINCIPAL) throw refused(`write an audit entry as ${entry.principal}`);
  return catalog.appendAudit(entry);
}

/** Packs get their index once: a pack already in another index keeps it. */
async function indexNewPacks({ references }: GatePorts, vaultId: string, packs: string[], index: string) {
  for (const pack of packs) {
    const record = await references.getPack(vaultId, pack);
    if (record?.index !== undefined && record.index !== index)
      throw refused(`move pack ${pack} from index ${record.index}`);
  }
  return references.setPackIndex(vaultId, packs, index);
}

/** A backup takes only the lease that keeps reclaim away while it commits. */
async function commitLease(name: unknown) {
  if (name !== LeaseName.Reclaim) throw refused(`take or free lease ${String(name)}`);
}

/**
 * A backup gives back only holders of its own point, which is not committed (holder ids are
 * `<disk>/<slot>/<point>`, see engine/gc/holders.ts): a committed point's holds stay.
 */
async function releaseUncommittedHolders(
  { catalog, references }: GatePorts,
  vaultId: string,
  segment: string,
  holders: string[],
) {
  for (const holder of holders) {
    const point = holder.split("/").at(-1) ?? "";
    const committed = await catalog.getRecoveryPoint(vaultId, point).then(
      () => true,
      (err: unknown) => !(err instanceof NotFoundError),
    );
    if (committed) throw refused(`give back hold ${holder} of a committed point`);
  }
  return references.releaseSegment(vaultId, segment, holders);
}

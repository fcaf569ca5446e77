import {
  Consistency,
  type DiskRecord,
  type JobRecord,
  JobStatus,
  JobType,
  PointState,
  type RecoveryPointRecord,
  Tier,
  type VaultRecord,
} from "../../../model.ts";
import {
  checkInt,
  checkOneOf,
  checkText,
  fieldsOf,
  flatJson,
  optional,
  parseJson,
  pick,
  refuse,
} from "./codec.ts";
import { itemKey, order, part, SK } from "./keys.ts";
import type { Item } from "./ops.ts";

/**
 * Vaults, disks, recovery points and jobs as table items. Points and jobs also carry their
 * commit `ticket` (see `DynamoTable.ticket`), a revision `rev` that every update is conditional
 * on, and the LSI sort attributes their listings read (see table.ts).
 */

/** Attributes an item has besides its record's fields: bookkeeping the codecs add. */
export interface Bookkeeping {
  readonly ticket: number;
  readonly rev: number;
}

const VAULT_FIELDS = ["id", "name", "created", "blockSize"];

/** The item of vault `v`; `ValidationError` when a field is missing or mistyped. */
export function vaultItem(v: VaultRecord): Item {
  const what = `vault ${String(v.id)}`;
  checkText(what, "id", v.id);
  checkText(what, "name", v.name);
  checkInt(what, "created", v.created);
  checkInt(what, "blockSize", v.blockSize);
  return { ...itemKey(v.id, SK.vault), kind: "vault", ...fieldsOf(v, VAULT_FIELDS) };
}

export function vaultFromItem(item: Item): VaultRecord {
  return pick(item, VAULT_FIELDS, []);
}

const DISK_REQUIRED = ["vaultId", "name", "created", "size", "source"];

/** The item of disk `d`; `ValidationError` when a field is missing or mistyped. */
export function diskItem(d: DiskRecord): Item {
  const what = `disk ${String(d.name)} of vault ${String(d.vaultId)}`;
  for (const name of ["vaultId", "name", "source"] as const) checkText(what, name, d[name]);
  checkInt(what, "created", d.created);
  checkInt(what, "size", d.size);
  optional(d.policy, (p) => checkText(what, "policy", p));
  return {
    ...itemKey(d.vaultId, SK.disk + d.name),
    kind: "disk",
    ...fieldsOf(d, [...DISK_REQUIRED, "policy"]),
  };
}

export function diskFromItem(item: Item): DiskRecord {
  return pick(item, DISK_REQUIRED, ["policy"]);
}

const POINT_REQUIRED = [
  "id",
  "vaultId",
  "disk",
  "created",
  "parent",
  "consistency",
  "logicalSize",
  "bytesStored",
  "manifest",
  "tier",
  "state",
];
const POINT_OPTIONAL = ["sourceRef", "deleteAfter", "retainUntil"];

const POINT_ENUMS = { consistency: Consistency, tier: Tier, state: PointState };

/** Refuses a recovery point with a missing or mistyped field (`ValidationError`). */
export function checkPoint(what: string, p: RecoveryPointRecord): void {
  for (const name of ["id", "vaultId", "disk", "manifest"] as const) checkText(what, name, p[name]);
  for (const name of ["created", "logicalSize", "bytesStored"] as const) checkInt(what, name, p[name]);
  if (p.parent !== null) checkText(what, "parent", p.parent);
  checkOneOf(what, "consistency", p.consistency, Consistency);
  checkOneOf(what, "tier", p.tier, Tier);
  checkOneOf(what, "state", p.state, PointState);
  optional(p.sourceRef, (v) => checkText(what, "sourceRef", v));
  optional(p.deleteAfter, (v) => checkInt(what, "deleteAfter", v));
  optional(p.retainUntil, (v) => checkInt(what, "retainUntil", v));
}

/** The order of a point or job item in its listings. */
export function orderOf(time: number, item: Bookkeeping): string {
  return order(time, item.ticket);
}

/**
 * The item of point `p` (checked with {@link checkPoint} first). Only an available point has
 * `lsi3`: that sparse index holds each disk's available points, newest last, so the disk's next
 * newest available point is one strongly consistent Query away.
 */
export function pointItem(p: RecoveryPointRecord, book: Bookkeeping): Item {
  const ord = orderOf(p.created, book);
  const disk = part(p.disk);
  return {
    ...itemKey(p.vaultId, SK.point + p.id),
    kind: "point",
    ...book,
    lsi1: `PT#${ord}`,
    lsi2: `PD#${disk}#${ord}`,
    ...(p.state === PointState.Available ? { lsi3: `PA#${disk}#${ord}` } : {}),
    ...fieldsOf(p, [...POINT_REQUIRED, ...POINT_OPTIONAL]),
  };
}

export function pointFromItem(item: Item): RecoveryPointRecord {
  return pick(item, POINT_REQUIRED, POINT_OPTIONAL, POINT_ENUMS);
}

const JOB_COUNTS = ["started", "bytesScanned", "bytesChanged", "bytesStored", "attempts"] as const;
/** Job fields an update may not clear. */
export const JOB_REQUIRED = ["type", "status", ...JOB_COUNTS];
const JOB_OPTIONAL = ["disk", "recoveryPoint", "ended", "error", "detail", "heartbeat"];
/** Job fields an update may change. */
export const JOB_FIELDS = [...JOB_REQUIRED, ...JOB_OPTIONAL];

/** Refuses a job with a missing or mistyped field (`ValidationError`). */
export function checkJob(what: string, j: JobRecord): void {
  checkText(what, "id", j.id);
  checkText(what, "vaultId", j.vaultId);
  checkOneOf(what, "type", j.type, JobType);
  checkOneOf(what, "status", j.status, JobStatus);
  for (const name of JOB_COUNTS) checkInt(what, name, j[name]);
  for (const name of ["disk", "recoveryPoint", "error"] as const)
    optional(j[name], (v) => checkText(what, name, v));
  optional(j.ended, (v) => checkInt(what, "ended", v));
  optional(j.heartbeat, (v) => checkInt(what, "heartbeat", v));
  if (j.detail !== undefined && j.detail !== null && typeof j.detail !== "object")
    refuse(what, "detail must be an object");
}

/**
 * The item of job `j` (checked with {@link checkJob} first); `detail` as JSON text. A job
 * without a disk is in no `lsi3` listing, which is what filtering by disk wants.
 */
export function jobItem(j: JobRecord, book: Bookkeeping): Item {
  const what = `job ${j.id} of vault ${j.vaultId}`;
  const ord = orderOf(j.started, book);
  const item: Item = {
    ...itemKey(j.vaultId, SK.job + j.id),
    kind: "job",
    ...book,
    lsi1: `JB#${ord}`,
    lsi2: `JS#${part(j.status)}#${ord}`,
    ...fieldsOf(j, ["id", "vaultId", ...JOB_FIELDS]),
  };
  if (j.disk !== undefined) item.lsi3 = `JD#${part(j.disk)}#${ord}`;
  if (j.detail !== undefined) item.detail = flatJson(what, "detail", j.detail);
  return item;
}

export function jobFromItem(item: Item): JobRecord {
  const job = pick<JobRecord & { detail?: unknown }>(item, ["id", "vaultId", ...JOB_REQUIRED], JOB_OPTIONAL, {
    type: JobType,
    status: JobStatus,
  });
  if (job.detail !== undefined) job.detail = parseJson(`job ${job.id}`, job.detail);
  return job;
}

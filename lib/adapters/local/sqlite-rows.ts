import type { SQLInputValue, SQLOutputValue } from "node:sqlite";
import { ValidationError } from "../../errors.ts";
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
} from "../../model.ts";
import { enumField } from "../../util/enum-field.ts";

/**
 * Conversions between catalog records and SQLite rows. Columns are snake_case; named statement
 * parameters use the column names (`$vault_id`). Optional fields are stored as NULL and read back
 * as *absent*, so a record round-trips exactly as it was written.
 */

/** A row as `node:sqlite` returns it. */
export type Row = Record<string, SQLOutputValue>;
/** Named parameters for a statement. */
export type Params = Record<string, SQLInputValue>;

/**
 * Parameters for `fields`, with `undefined` bound as NULL: a missing required field then fails
 * its NOT NULL constraint (a `ValidationError`) instead of a binding error.
 */
export function params(fields: Record<string, SQLInputValue | undefined>): Params {
  const out: Params = {};
  for (const [name, value] of Object.entries(fields)) out[name] = value ?? null;
  return out;
}

/** Copies the non-null `optional` values onto `base`, leaving null ones absent. */
function withOptional<T extends object>(base: T, optional: Record<string, unknown>): T {
  const out = base as Record<string, unknown>;
  for (const [name, value] of Object.entries(optional)) if (value !== null) out[name] = value;
  return base;
}

/** Row parameters of a vault. */
export function vaultParams(v: VaultRecord): Params {
  return params({ id: v.id, name: v.name, created: v.created, block_size: v.blockSize });
}

/** The vault stored in `row`. */
export function vaultFromRow(row: Row): VaultRecord {
  return {
    id: row.id as string,
    name: row.name as string,
    created: row.created as number,
    blockSize: row.block_size as number,
  };
}

/** Row parameters of a disk. */
export function diskParams(d: DiskRecord): Params {
  return params({
    vault_id: d.vaultId,
    name: d.name,
    created: d.created,
    size: d.size,
    source: d.source,
    policy: d.policy,
  });
}

/** The disk stored in `row`. */
export function diskFromRow(row: Row): DiskRecord {
  return withOptional<DiskRecord>(
    {
      vaultId: row.vault_id as string,
      name: row.name as string,
      created: row.created as number,
      size: row.size as number,
      source: row.source as string,
    },
    { policy: row.policy },
  );
}

/** Row parameters of a recovery point. */
export function pointParams(p: RecoveryPointRecord): Params {
  return params({
    vault_id: p.vaultId,
    id: p.id,
    disk: p.disk,
    created: p.created,
    parent: p.parent,
    consistency: p.consistency,
    logical_size: p.logicalSize,
    bytes_stored: p.bytesStored,
    manifest: p.manifest,
    tier: p.tier,
    state: p.state,
    source_ref: p.sourceRef,
    delete_after: p.deleteAfter,
    retain_until: p.retainUntil,
  });
}

/** The recovery point stored in `row`; `parent` stays null (it is required, null = full backup). */
export function pointFromRow(row: Row): RecoveryPointRecord {
  const point = `recovery point ${String(row.id)}`;
  return withOptional<RecoveryPointRecord>(
    {
      id: row.id as string,
      vaultId: row.vault_id as string,
      disk: row.disk as string,
      created: row.created as number,
      parent: row.parent as string | null,
      consistency: enumField(Consistency, point, "consistency", row.consistency),
      logicalSize: row.logical_size as number,
      bytesStored: row.bytes_stored as number,
      manifest: row.manifest as string,
      tier: enumField(Tier, point, "tier", row.tier),
      state: enumField(PointState, point, "state", row.state),
    },
    { sourceRef: row.source_ref, deleteAfter: row.delete_after, retainUntil: row.retain_until },
  );
}

/** Row parameters of a job; `detail` is stored as JSON text. */
export function jobParams(j: JobRecord): Params {
  return params({
    vault_id: j.vaultId,
    id: j.id,
    type: j.type,
    status: j.status,
    disk: j.disk,
    recovery_point: j.recoveryPoint,
    started: j.started,
    ended: j.ended,
    bytes_scanned: j.bytesScanned,
    bytes_changed: j.bytesChanged,
    bytes_stored: j.bytesStored,
    attempts: j.attempts,
    error: j.error,
    detail: j.detail === undefined ? undefined : JSON.stringify(j.detail),
    heartbeat: j.heartbeat,
  });
}

/** The job stored in `row`. */
export function jobFromRow(row: Row): JobRecord {
  const job = `job ${String(row.id)}`;
  return withOptional<JobRecord>(
    {
      id: row.id as string,
      vaultId: row.vault_id as string,
      type: enumField(JobType, job, "type", row.type),
      status: enumField(JobStatus, job, "status", row.status),
      started: row.started as number,
      bytesScanned: row.bytes_scanned as number,
      bytesChanged: row.bytes_changed as number,
      bytesStored: row.bytes_stored as number,
      attempts: row.attempts as number,
    },
    {
      disk: row.disk,
      recoveryPoint: row.recovery_point,
      ended: row.ended,
      error: row.error,
      heartbeat: row.heartbeat,
      detail: row.detail === null ? null : JSON.parse(row.detail as string),
    },
  );
}

/**
 * Applies `changes` to `existing` with object-spread semantics, as the Catalog port specifies:
 * only `allowed` fields may change; an optional field given as `undefined` is cleared, a
 * `required` one given as `undefined` is a `ValidationError` (it would leave an invalid record).
 */
export function mergeChanges<T extends object>(
  what: string,
  existing: T,
  changes: object,
  allowed: readonly string[],
  required: readonly string[],
): T {
  const out: Record<string, unknown> = { ...(existing as Record<string, unknown>) };
  for (const [name, value] of Object.entries(changes)) {
    if (!allowed.includes(name)) throw new ValidationError(`${what}: field ${name} cannot be changed`);
    if (value !== undefined) out[name] = value;
    else if (required.includes(name))
      throw new ValidationError(`${what}: required field ${name} cannot be cleared`);
    else delete out[name];
  }
  return out as T;
}

import { ValidationError } from "../../errors.ts";
import type { JobRecord } from "../../model.ts";
import {
  checkJobExpectation,
  type JobChanges,
  type JobExpectation,
  type JobQuery,
} from "../../ports/catalog.ts";
import type { SqliteDb } from "./sqlite-db.ts";
import { jobFromRow, jobParams, mergeChanges, type Params } from "./sqlite-rows.ts";
import { SQL } from "./sqlite-schema.ts";

const JOB_REQUIRED = ["type", "status", "started", "bytesScanned", "bytesChanged", "bytesStored", "attempts"];
const JOB_FIELDS = [...JOB_REQUIRED, "disk", "recoveryPoint", "ended", "error", "detail", "heartbeat"];

export function createJob(db: SqliteDb, job: JobRecord): void {
  db.run(`create job ${job.id}`, SQL.insertJob, jobParams(job));
}

export function getJob(db: SqliteDb, vaultId: string, id: string): JobRecord {
  return jobFromRow(db.one(`job ${id} in vault ${vaultId}`, SQL.job, { vault_id: vaultId, id }));
}

/** Checks the expectation and writes in one `BEGIN IMMEDIATE` transaction. */
export function updateJob(
  db: SqliteDb,
  vaultId: string,
  id: string,
  changes: JobChanges,
  expected?: JobExpectation,
): JobRecord {
  const what = `update job ${id}`;
  return db.transaction(what, () => {
    const existing = getJob(db, vaultId, id);
    if (expected) checkJobExpectation(what, existing, expected);
    const updated = mergeChanges(what, existing, changes, JOB_FIELDS, JOB_REQUIRED);
    db.run(what, SQL.updateJob, jobParams(updated));
    return updated;
  });
}

export function listJobs(db: SqliteDb, vaultId: string, query: JobQuery = {}): JobRecord[] {
  const { status, disk, limit } = query;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new ValidationError(`job list limit must be a non-negative integer, got ${limit}`);
  }
  // LIMIT -1 is SQLite for "no limit".
  const params: Params = { vault_id: vaultId, limit: limit ?? -1 };
  let where = "vault_id = $vault_id";
  if (status !== undefined) {
    where += " AND status = $status";
    params.status = status;
  }
  if (disk !== undefined) {
    where += " AND disk = $disk";
    params.disk = disk;
  }
  const sql = `SELECT * FROM jobs WHERE ${where} ORDER BY started DESC, seq DESC LIMIT $limit`;
  return db.all(`list jobs of vault ${vaultId}`, sql, params).map(jobFromRow);
}

/** The operations of the `JobCatalog` port. */
export const jobOps = { createJob, getJob, updateJob, listJobs } as const;

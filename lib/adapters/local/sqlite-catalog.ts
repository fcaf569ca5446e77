import { AlreadyExistsError, ConflictError, ValidationError } from "../../errors.ts";
import type {
  ApprovalRecord,
  ApprovalState,
  AuditEntry,
  DiskRecord,
  JobRecord,
  PolicyRecord,
  RecoveryPointRecord,
  VaultRecord,
  VaultSettings,
} from "../../model.ts";
import {
  type ApprovalQuery,
  type AuditQuery,
  type Catalog,
  checkJobExpectation,
  type JobExpectation,
  type JobQuery,
} from "../../ports/catalog.ts";
import * as approvals from "./sqlite-approvals.ts";
import * as audit from "./sqlite-audit.ts";
import { SqliteDb } from "./sqlite-db.ts";
import { SqliteReferenceStore } from "./sqlite-references.ts";
import {
  diskFromRow,
  diskParams,
  jobFromRow,
  jobParams,
  mergeChanges,
  type Params,
  pointFromRow,
  pointParams,
  vaultFromRow,
  vaultParams,
} from "./sqlite-rows.ts";
import * as rules from "./sqlite-rules.ts";
import { SQL } from "./sqlite-schema.ts";

/** Tuning for {@link SqliteCatalog}. */
export interface SqliteCatalogOptions {
  /** How long to wait for another connection's write lock before a `TransientError`; default 5000. */
  readonly busyTimeoutMs?: number;
}

const POINT_FIELDS = ["tier", "state", "deleteAfter", "retainUntil"];
const JOB_REQUIRED = ["type", "status", "started", "bytesScanned", "bytesChanged", "bytesStored", "attempts"];
const JOB_FIELDS = [...JOB_REQUIRED, "disk", "recoveryPoint", "ended", "error", "detail", "heartbeat"];

/**
 * The {@link Catalog} on a local SQLite database (`node:sqlite`), for single-machine vaults and
 * tests. The database runs in WAL mode with foreign keys on, so readers never block the writer
 * and several processes may share one file; a write lock held longer than `busyTimeoutMs`
 * surfaces as a retryable `TransientError`.
 *
 * `node:sqlite` is synchronous: each method runs to completion on the calling thread before its
 * promise settles, so no two calls of one instance ever interleave. Read-modify-write methods
 * (`commitRecoveryPoint`, `update*`, `putPolicy`, `putSettings`, `appendAudit`) run in
 * `BEGIN IMMEDIATE` transactions, so a writer in another process cannot slip in between the check
 * and the write. The audit log is append-only in the schema itself: triggers refuse any SQL that
 * would change or delete an entry, whoever runs it.
 *
 * Beyond the port: records of a vault that was never created are refused with `NotFoundError`
 * (foreign keys; `getSettings` of such a vault too), and a record missing a required field or
 * holding a value of the wrong type is refused with `ValidationError` (STRICT tables), as is a
 * policy or settings write whose new `version` is not the expected one plus one, a malformed
 * audit entry (see `appendAudit` in sqlite-audit.ts) and a malformed approval request or update
 * (see sqlite-approvals.ts).
 */
export class SqliteCatalog implements Catalog {
  readonly #db: SqliteDb;

  /**
   * Opens (creating if needed) the catalog database at `path`; `":memory:"` gives a private,
   * throwaway catalog. Throws if the file holds a newer schema than this code understands.
   */
  constructor(path: string, options: SqliteCatalogOptions = {}) {
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new ValidationError(`busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}`);
    }
    this.#db = new SqliteDb(path, busyTimeoutMs);
  }

  /** Garbage collection's reference records, kept in the same database (schema version 5). */
  references(): SqliteReferenceStore {
    return new SqliteReferenceStore(this.#db);
  }

  async createVault(vault: VaultRecord): Promise<void> {
    this.#db.run(`create vault ${vault.id}`, SQL.insertVault, vaultParams(vault));
  }

  async getVault(id: string): Promise<VaultRecord> {
    return vaultFromRow(this.#db.one(`vault ${id}`, "SELECT * FROM vaults WHERE id = $id", { id }));
  }

  async putDisk(disk: DiskRecord): Promise<void> {
    this.#db.run(`put disk ${disk.name}`, SQL.upsertDisk, diskParams(disk));
  }

  async getDisk(vaultId: string, name: string): Promise<DiskRecord> {
    const sql = "SELECT * FROM disks WHERE vault_id = $vault_id AND name = $name";
    return diskFromRow(this.#db.one(`disk ${name} in vault ${vaultId}`, sql, { vault_id: vaultId, name }));
  }

  async listDisks(vaultId: string): Promise<DiskRecord[]> {
    const sql = "SELECT * FROM disks WHERE vault_id = $vault_id ORDER BY name";
    return this.#db.all(`list disks of vault ${vaultId}`, sql, { vault_id: vaultId }).map(diskFromRow);
  }

  async commitRecoveryPoint(point: RecoveryPointRecord, expectedParent: string | null): Promise<void> {
    const what = `commit recovery point ${point.id} of disk ${point.disk}`;
    this.#db.transaction(what, () => {
      // The id check comes first so that a retried commit which already landed says so.
      const sql = "SELECT 1 FROM recovery_points WHERE vault_id = $vault_id AND id = $id";
      if (this.#db.get(what, sql, { vault_id: point.vaultId, id: point.id }) !== undefined) {
        throw new AlreadyExistsError(`${what}: recovery point ${point.id} already exists`);
      }
      const latest = this.#db.get(what, SQL.newestAvailablePoint, {
        vault_id: point.vaultId,
        disk: point.disk,
      });
      const latestId = (latest?.id as string | undefined) ?? null;
      if (latestId !== expectedParent) {
        throw new ConflictError(
          `${what}: expected the disk's latest available point to be ${expectedParent ?? "none"}, but it is ${latestId ?? "none"}`,
        );
      }
      this.#db.run(what, SQL.insertPoint, pointParams(point));
      this.#db.run(what, SQL.updateDiskSize, {
        size: point.logicalSize,
        vault_id: point.vaultId,
        name: point.disk,
      });
    });
  }

  async getRecoveryPoint(vaultId: string, id: string): Promise<RecoveryPointRecord> {
    return pointFromRow(
      this.#db.one(`recovery point ${id} in vault ${vaultId}`, SQL.point, { vault_id: vaultId, id }),
    );
  }

  async listRecoveryPoints(vaultId: string, disk?: string): Promise<RecoveryPointRecord[]> {
    const byDisk = disk === undefined ? "" : "AND disk = $disk";
    const sql = `SELECT * FROM recovery_points WHERE vault_id = $vault_id ${byDisk} ORDER BY created DESC, seq DESC`;
    const params: Params = disk === undefined ? { vault_id: vaultId } : { vault_id: vaultId, disk };
    return this.#db.all(`list recovery points of vault ${vaultId}`, sql, params).map(pointFromRow);
  }

  async latestRecoveryPoint(vaultId: string, disk: string): Promise<RecoveryPointRecord | undefined> {
    const what = `find the latest point of disk ${disk}`;
    const row = this.#db.get(what, SQL.newestAvailablePoint, { vault_id: vaultId, disk });
    return row === undefined ? undefined : pointFromRow(row);
  }

  async updateRecoveryPoint(
    vaultId: string,
    id: string,
    changes: Partial<Pick<RecoveryPointRecord, "tier" | "state" | "deleteAfter" | "retainUntil">>,
  ): Promise<RecoveryPointRecord> {
    const what = `update recovery point ${id}`;
    return this.#db.transaction(what, () => {
      const existing = pointFromRow(
        this.#db.one(`recovery point ${id} in vault ${vaultId}`, SQL.point, { vault_id: vaultId, id }),
      );
      const updated = mergeChanges(what, existing, changes, POINT_FIELDS, ["tier", "state"]);
      this.#db.run(what, SQL.updatePoint, pointParams(updated));
      return updated;
    });
  }

  async createJob(job: JobRecord): Promise<void> {
    this.#db.run(`create job ${job.id}`, SQL.insertJob, jobParams(job));
  }

  async getJob(vaultId: string, id: string): Promise<JobRecord> {
    return jobFromRow(this.#db.one(`job ${id} in vault ${vaultId}`, SQL.job, { vault_id: vaultId, id }));
  }

  async updateJob(
    vaultId: string,
    id: string,
    changes: Partial<Omit<JobRecord, "id" | "vaultId">>,
    expected?: JobExpectation,
  ): Promise<JobRecord> {
    const what = `update job ${id}`;
    return this.#db.transaction(what, () => {
      const existing = jobFromRow(
        this.#db.one(`job ${id} in vault ${vaultId}`, SQL.job, { vault_id: vaultId, id }),
      );
      if (expected) checkJobExpectation(what, existing, expected);
      const updated = mergeChanges(what, existing, changes, JOB_FIELDS, JOB_REQUIRED);
      this.#db.run(what, SQL.updateJob, jobParams(updated));
      return updated;
    });
  }

  async listJobs(vaultId: string, query: JobQuery = {}): Promise<JobRecord[]> {
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
    return this.#db.all(`list jobs of vault ${vaultId}`, sql, params).map(jobFromRow);
  }

  async putPolicy(policy: PolicyRecord, expectedVersion: number | null): Promise<void> {
    rules.putPolicy(this.#db, policy, expectedVersion);
  }

  async deletePolicy(vaultId: string, name: string, expectedVersion: number): Promise<void> {
    rules.deletePolicy(this.#db, vaultId, name, expectedVersion);
  }

  async getPolicy(vaultId: string, name: string): Promise<PolicyRecord> {
    return rules.getPolicy(this.#db, vaultId, name);
  }

  async listPolicies(vaultId: string): Promise<PolicyRecord[]> {
    return rules.listPolicies(this.#db, vaultId);
  }

  async getSettings(vaultId: string): Promise<VaultSettings> {
    return rules.getSettings(this.#db, vaultId);
  }

  async putSettings(settings: VaultSettings, expectedVersion: number): Promise<void> {
    rules.putSettings(this.#db, settings, expectedVersion);
  }

  async createApproval(approval: ApprovalRecord): Promise<void> {
    approvals.createApproval(this.#db, approval);
  }

  async getApproval(vaultId: string, id: string): Promise<ApprovalRecord> {
    return approvals.getApproval(this.#db, vaultId, id);
  }

  async listApprovals(vaultId: string, query?: ApprovalQuery): Promise<ApprovalRecord[]> {
    return approvals.listApprovals(this.#db, vaultId, query);
  }

  async updateApproval(
    vaultId: string,
    id: string,
    changes: Partial<Pick<ApprovalRecord, "state" | "approver" | "approved" | "used">>,
    expectedState: ApprovalState,
  ): Promise<ApprovalRecord> {
    return approvals.updateApproval(this.#db, vaultId, id, changes, expectedState);
  }

  async appendAudit(entry: Omit<AuditEntry, "seq">): Promise<AuditEntry> {
    return audit.appendAudit(this.#db, entry);
  }

  async listAudit(vaultId: string, query?: AuditQuery): Promise<AuditEntry[]> {
    return audit.listAudit(this.#db, vaultId, query);
  }

  /** Closes the database; later calls fail. Closing twice is harmless. */
  async close(): Promise<void> {
    this.#db.close();
  }
}

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from "../../errors.ts";
import type { DiskRecord, JobRecord, RecoveryPointRecord, VaultRecord } from "../../model.ts";
import type { Catalog, JobQuery } from "../../ports/catalog.ts";
import { translateSqliteError } from "./sqlite-errors.ts";
import {
  diskFromRow,
  diskParams,
  jobFromRow,
  jobParams,
  mergeChanges,
  type Params,
  pointFromRow,
  pointParams,
  type Row,
  vaultFromRow,
  vaultParams,
} from "./sqlite-rows.ts";
import { migrate, SQL } from "./sqlite-schema.ts";

/** Tuning for {@link SqliteCatalog}. */
export interface SqliteCatalogOptions {
  /** How long to wait for another connection's write lock before a `TransientError`; default 5000. */
  readonly busyTimeoutMs?: number;
}

const POINT_FIELDS = ["tier", "state", "deleteAfter"] as const;
const JOB_REQUIRED = ["type", "status", "started", "bytesScanned", "bytesChanged", "bytesStored", "attempts"];
const JOB_FIELDS = [...JOB_REQUIRED, "disk", "recoveryPoint", "ended", "error", "detail"];

/**
 * The {@link Catalog} on a local SQLite database (`node:sqlite`), for single-machine vaults and
 * tests. The database runs in WAL mode with foreign keys on, so readers never block the writer
 * and several processes may share one file; a write lock held longer than `busyTimeoutMs`
 * surfaces as a retryable `TransientError`.
 *
 * `node:sqlite` is synchronous: each method runs to completion on the calling thread before its
 * promise settles, which is also why no two calls of one instance ever interleave. Read-modify-
 * write methods (`commitRecoveryPoint`, `update*`) run in `BEGIN IMMEDIATE` transactions, which
 * take the write lock up front so a concurrent writer in another process cannot slip in between
 * the check and the write.
 *
 * Records of a vault that was never created are refused with `NotFoundError` (foreign keys).
 */
export class SqliteCatalog implements Catalog {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  /**
   * Opens (creating if needed) the catalog database at `path`; `":memory:"` gives a private,
   * throwaway catalog. Throws if the file holds a newer schema than this code understands.
   */
  constructor(path: string, options: SqliteCatalogOptions = {}) {
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new ValidationError(`busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}`);
    }
    const what = `open catalog ${path}`;
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path);
      db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA foreign_keys = ON");
      migrate(db, path);
    } catch (err) {
      if (db?.isOpen) db.close();
      throw translateSqliteError(err, what);
    }
    this.#db = db;
  }

  async createVault(vault: VaultRecord): Promise<void> {
    this.#run(`create vault ${vault.id}`, () =>
      this.#stmt("INSERT INTO vaults VALUES ($id, $name, $created, $block_size)").run(vaultParams(vault)),
    );
  }

  async getVault(id: string): Promise<VaultRecord> {
    return vaultFromRow(this.#one(`vault ${id}`, "SELECT * FROM vaults WHERE id = $id", { id }));
  }

  async putDisk(disk: DiskRecord): Promise<void> {
    this.#run(`put disk ${disk.name}`, () => this.#stmt(SQL.upsertDisk).run(diskParams(disk)));
  }

  async getDisk(vaultId: string, name: string): Promise<DiskRecord> {
    const sql = "SELECT * FROM disks WHERE vault_id = $vault_id AND name = $name";
    return diskFromRow(this.#one(`disk ${name} in vault ${vaultId}`, sql, { vault_id: vaultId, name }));
  }

  async listDisks(vaultId: string): Promise<DiskRecord[]> {
    const sql = "SELECT * FROM disks WHERE vault_id = $vault_id ORDER BY name";
    return this.#all(`list disks of vault ${vaultId}`, sql, { vault_id: vaultId }).map(diskFromRow);
  }

  async commitRecoveryPoint(point: RecoveryPointRecord, expectedParent: string | null): Promise<void> {
    const what = `commit recovery point ${point.id} of disk ${point.disk}`;
    this.#transaction(what, () => {
      const key = { vault_id: point.vaultId, id: point.id };
      if (this.#stmt("SELECT 1 FROM recovery_points WHERE vault_id = $vault_id AND id = $id").get(key)) {
        throw new AlreadyExistsError(`${what}: recovery point ${point.id} already exists`);
      }
      const latest = this.#stmt(SQL.newestAvailablePoint).get({ vault_id: point.vaultId, disk: point.disk });
      const latestId = (latest?.id as string | undefined) ?? null;
      if (latestId !== expectedParent) {
        throw new ConflictError(
          `${what}: expected the disk's latest available point to be ${expectedParent ?? "none"}, but it is ${latestId ?? "none"}`,
        );
      }
      this.#stmt(SQL.insertPoint).run(pointParams(point));
      this.#stmt("UPDATE disks SET size = $size WHERE vault_id = $vault_id AND name = $name").run({
        size: point.logicalSize,
        vault_id: point.vaultId,
        name: point.disk,
      });
    });
  }

  async getRecoveryPoint(vaultId: string, id: string): Promise<RecoveryPointRecord> {
    return pointFromRow(this.#pointRow(vaultId, id));
  }

  async listRecoveryPoints(vaultId: string, disk?: string): Promise<RecoveryPointRecord[]> {
    const byDisk = disk === undefined ? "" : "AND disk = $disk";
    const sql = `SELECT * FROM recovery_points WHERE vault_id = $vault_id ${byDisk} ORDER BY created DESC, seq DESC`;
    const params: Params = disk === undefined ? { vault_id: vaultId } : { vault_id: vaultId, disk };
    return this.#all(`list recovery points of vault ${vaultId}`, sql, params).map(pointFromRow);
  }

  async latestRecoveryPoint(vaultId: string, disk: string): Promise<RecoveryPointRecord | undefined> {
    const row = this.#run(`find the latest point of disk ${disk}`, () =>
      this.#stmt(SQL.newestAvailablePoint).get({ vault_id: vaultId, disk }),
    );
    return row === undefined ? undefined : pointFromRow(row);
  }

  async updateRecoveryPoint(
    vaultId: string,
    id: string,
    changes: Partial<Pick<RecoveryPointRecord, "tier" | "state" | "deleteAfter">>,
  ): Promise<RecoveryPointRecord> {
    const what = `update recovery point ${id}`;
    return this.#transaction(what, () => {
      const existing = pointFromRow(this.#pointRow(vaultId, id));
      const updated = mergeChanges(what, existing, changes, POINT_FIELDS, ["tier", "state"]);
      this.#stmt(SQL.updatePoint).run(pointParams(updated));
      return updated;
    });
  }

  async createJob(job: JobRecord): Promise<void> {
    this.#run(`create job ${job.id}`, () => this.#stmt(SQL.insertJob).run(jobParams(job)));
  }

  async getJob(vaultId: string, id: string): Promise<JobRecord> {
    return jobFromRow(this.#jobRow(vaultId, id));
  }

  async updateJob(
    vaultId: string,
    id: string,
    changes: Partial<Omit<JobRecord, "id" | "vaultId">>,
  ): Promise<JobRecord> {
    const what = `update job ${id}`;
    return this.#transaction(what, () => {
      const updated = mergeChanges(
        what,
        jobFromRow(this.#jobRow(vaultId, id)),
        changes,
        JOB_FIELDS,
        JOB_REQUIRED,
      );
      this.#stmt(SQL.updateJob).run(jobParams(updated));
      return updated;
    });
  }

  async listJobs(vaultId: string, query: JobQuery = {}): Promise<JobRecord[]> {
    const { status, disk, limit } = query;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new ValidationError(`job list limit must be a non-negative integer, got ${limit}`);
    }
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
    return this.#all(`list jobs of vault ${vaultId}`, sql, params).map(jobFromRow);
  }

  /** Closes the database; later calls fail. Closing twice is harmless. */
  async close(): Promise<void> {
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }

  #pointRow(vaultId: string, id: string): Row {
    const sql = "SELECT * FROM recovery_points WHERE vault_id = $vault_id AND id = $id";
    return this.#one(`recovery point ${id} in vault ${vaultId}`, sql, { vault_id: vaultId, id });
  }

  #jobRow(vaultId: string, id: string): Row {
    const sql = "SELECT * FROM jobs WHERE vault_id = $vault_id AND id = $id";
    return this.#one(`job ${id} in vault ${vaultId}`, sql, { vault_id: vaultId, id });
  }

  /** The single row `sql` selects; `NotFoundError` naming `what` when there is none. */
  #one(what: string, sql: string, params: Params): Row {
    const row = this.#run(`read ${what}`, () => this.#stmt(sql).get(params));
    if (row === undefined) throw new NotFoundError(`${what} not found`);
    return row;
  }

  #all(what: string, sql: string, params: Params): Row[] {
    return this.#run(what, () => this.#stmt(sql).all(params));
  }

  /** A prepared statement for `sql`, cached: the catalog runs a handful of statements many times. */
  #stmt(sql: string): StatementSync {
    let stmt = this.#statements.get(sql);
    if (stmt === undefined) {
      stmt = this.#db.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Runs `fn`, translating what SQLite throws. */
  #run<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw translateSqliteError(err, what);
    }
  }

  /** Runs `fn` in a write transaction, rolling back whatever it did if it throws. */
  #transaction<T>(what: string, fn: () => T): T {
    return this.#run(what, () => {
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        const result = fn();
        this.#db.exec("COMMIT");
        return result;
      } catch (err) {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw err;
      }
    });
  }
}

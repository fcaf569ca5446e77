import { ValidationError } from "../../errors.ts";
import type { Catalog } from "../../ports/catalog.ts";
import { bindAll } from "../../util/bind-ops.ts";
import { approvalOps } from "./sqlite-approvals.ts";
import { auditOps } from "./sqlite-audit.ts";
import { SqliteDb } from "./sqlite-db.ts";
import { jobOps } from "./sqlite-jobs.ts";
import { pointOps } from "./sqlite-points.ts";
import { SqliteReferenceStore } from "./sqlite-references.ts";
import { policyOps, settingsOps } from "./sqlite-rules.ts";
import { diskOps, vaultOps } from "./sqlite-vaults.ts";
import { vmOps } from "./sqlite-vms.ts";

/** Tuning for {@link openSqliteCatalog}. */
export interface SqliteCatalogOptions {
  /** How long to wait for another connection's write lock before a `TransientError`; default 5000. */
  readonly busyTimeoutMs?: number;
}

/** The SQLite catalog, and garbage collection's reference records in the same database. */
export interface SqliteCatalog extends Catalog {
  /** The reference store on the same database (schema version 5). */
  references(): SqliteReferenceStore;
}

/**
 * Opens the {@link Catalog} on a local SQLite database (`node:sqlite`) at `path`, for
 * single-machine vaults and tests: created if needed (`":memory:"` gives a private, throwaway
 * catalog) and assembled from one module per aggregate (sqlite-points.ts, sqlite-jobs.ts, …,
 * each bound to the database). The database runs in WAL mode with foreign keys on, so readers
 * never block the writer and several processes may share one file; a write lock held longer
 * than `busyTimeoutMs` surfaces as a retryable `TransientError`.
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
 *
 * Throws if the file holds a newer schema than this code understands.
 */
export function openSqliteCatalog(path: string, options: SqliteCatalogOptions = {}): SqliteCatalog {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new ValidationError(`busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}`);
  }
  const db = new SqliteDb(path, busyTimeoutMs);
  const context = () => db;
  return {
    ...bindAll(
      context,
      vaultOps,
      diskOps,
      pointOps,
      jobOps,
      policyOps,
      settingsOps,
      approvalOps,
      auditOps,
      vmOps,
    ),
    references: () => new SqliteReferenceStore(db),
    /** Closes the database; later calls fail. Closing twice is harmless. */
    close: async () => db.close(),
  };
}

import { IntegrityError, ValidationError } from "../../errors.ts";
import { type AuditEntry, AuditOutcome } from "../../model.ts";
import type { AuditQuery } from "../../ports/catalog.ts";
import { enumField } from "../../util/enum-field.ts";
import type { SqliteDb } from "./sqlite-db.ts";
import { type Params, params, type Row } from "./sqlite-rows.ts";

/**
 * The audit log in the SQLite catalog (schema version 3), its row mapping, and the operations
 * `SqliteCatalog` delegates to. The schema's triggers keep the table append-only and in order
 * (see sqlite-schema.ts); this module only ever inserts the vault's next entry.
 */

const SQL = {
  /**
   * The vault's next seq, from the vault's row so that no row at all means no such vault: the
   * missing vault is reported by name before any write, and a refused append uses up no seq.
   */
  nextSeq: `SELECT coalesce((SELECT max(seq) FROM audit WHERE vault_id = vaults.id), 0) + 1 AS seq
    FROM vaults WHERE id = $vault_id`,
  insert: `INSERT INTO audit VALUES ($vault_id, $seq, $at, $principal, $action, $target, $outcome,
    $detail)`,
  entry: "SELECT * FROM audit WHERE vault_id = $vault_id AND seq = $seq",
} as const;

/**
 * Appends `entry` to its vault's log as the next seq and returns it as stored. The max(seq) read
 * and the insert share one `BEGIN IMMEDIATE` transaction, so two connections appending at once
 * cannot both take the same seq. Beyond the port, a malformed entry (a missing or empty
 * principal or action, an unknown outcome, a time that is no integer, a detail that is not a flat
 * object of strings, finite numbers and booleans) is refused with `ValidationError`.
 */
export function appendAudit(db: SqliteDb, entry: Omit<AuditEntry, "seq">): AuditEntry {
  const what = `append ${String(entry.action)} to the audit log of vault ${String(entry.vaultId)}`;
  // Checked before the transaction: a malformed entry is refused without taking the lock.
  checkEntry(what, entry);
  const row = auditParams(what, entry);
  return db.transaction(what, () => {
    const { seq } = db.one(`vault ${entry.vaultId}`, SQL.nextSeq, { vault_id: entry.vaultId });
    const key = { vault_id: entry.vaultId, seq: seq as number };
    db.run(what, SQL.insert, { ...row, ...key });
    // Read back rather than echoed: the caller gets exactly what listAudit will return.
    return auditFromRow(db.one(`${what}: the appended entry`, SQL.entry, key));
  });
}

/** The vault's entries after `afterSeq` matching the query, by ascending seq, at most `limit`. */
export function listAudit(db: SqliteDb, vaultId: string, query: AuditQuery = {}): AuditEntry[] {
  const what = `list the audit log of vault ${vaultId}`;
  const { afterSeq, limit, principal, action } = query;
  checkCount(what, "afterSeq", afterSeq);
  checkCount(what, "limit", limit);
  // LIMIT -1 is SQLite for "no limit".
  const where: Params = { vault_id: vaultId, after_seq: afterSeq ?? 0, limit: limit ?? -1 };
  let sql = "SELECT * FROM audit WHERE vault_id = $vault_id AND seq > $after_seq";
  if (principal !== undefined) {
    sql += " AND principal = $principal";
    where.principal = principal;
  }
  if (action !== undefined) {
    sql += " AND action = $action";
    where.action = action;
  }
  return db.all(what, `${sql} ORDER BY seq LIMIT $limit`, where).map(auditFromRow);
}

const OUTCOMES: readonly unknown[] = Object.values(AuditOutcome);

/**
 * Checks the fields' types here, not only in the schema: a STRICT TEXT column takes a number and
 * stores its text ("42.0"), and an INTEGER column takes text that looks like a number.
 */
function checkEntry(what: string, e: Omit<AuditEntry, "seq">): void {
  const refuse = (problem: string) => {
    throw new ValidationError(`${what}: ${problem}`);
  };
  if (typeof e.vaultId !== "string") refuse("vaultId must be a string");
  if (!Number.isSafeInteger(e.at)) refuse(`at must be an integer (epoch ms), got ${String(e.at)}`);
  if (typeof e.principal !== "string" || e.principal === "") refuse("principal must be a non-empty string");
  if (typeof e.action !== "string" || e.action === "") refuse("action must be a non-empty string");
  if (e.target !== undefined && typeof e.target !== "string") refuse("target must be a string");
  if (!OUTCOMES.includes(e.outcome)) refuse(`outcome must be one of ${OUTCOMES.join(", ")}`);
}

function checkCount(what: string, name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)) {
    throw new ValidationError(`${what}: ${name} must be an integer >= 0, got ${String(value)}`);
  }
}

/** Row parameters of an entry but its key; `detail` is stored as JSON text. */
function auditParams(what: string, e: Omit<AuditEntry, "seq">): Params {
  return params({
    at: e.at,
    principal: e.principal,
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    detail: e.detail === undefined ? undefined : detailJson(what, e.detail),
  });
}

/**
 * `detail` as JSON, refusing what would not read back as written: anything but a plain object,
 * nested values, and numbers JSON cannot hold (NaN and the infinities would come back as null).
 */
function detailJson(what: string, detail: unknown): string {
  if (typeof detail !== "object" || detail === null || Array.isArray(detail)) {
    throw new ValidationError(`${what}: detail must be an object`);
  }
  for (const [name, value] of Object.entries(detail)) {
    const ok =
      typeof value === "string" ||
      typeof value === "boolean" ||
      (typeof value === "number" && Number.isFinite(value));
    if (!ok) {
      throw new ValidationError(
        `${what}: detail ${name} must be a string, a finite number or a boolean, got ${String(value)}`,
      );
    }
  }
  return JSON.stringify(detail);
}

/** The entry stored in `row`; NULL target and detail are left absent. */
function auditFromRow(row: Row): AuditEntry {
  const entry: { -readonly [K in keyof AuditEntry]: AuditEntry[K] } = {
    vaultId: row.vault_id as string,
    seq: row.seq as number,
    at: row.at as number,
    principal: row.principal as string,
    action: row.action as string,
    outcome: enumField(
      AuditOutcome,
      `audit entry ${String(row.seq)} of vault ${String(row.vault_id)}`,
      "outcome",
      row.outcome,
    ),
  };
  if (row.target !== null) entry.target = row.target as string;
  if (row.detail !== null) {
    try {
      entry.detail = JSON.parse(row.detail as string);
    } catch (err) {
      // The schema CHECKs detail is JSON: only a damaged database holds one that is not.
      throw new IntegrityError(`audit entry ${entry.seq} of vault ${entry.vaultId}: detail is not JSON`, {
        cause: err,
      });
    }
  }
  return entry;
}

/** The operations of the `AuditLog` port. */
export const auditOps = { appendAudit, listAudit } as const;

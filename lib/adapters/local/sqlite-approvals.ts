import { ConflictError, ValidationError } from "../../errors.ts";
import { type ApprovalRecord, ApprovalState } from "../../model.ts";
import type { ApprovalQuery } from "../../ports/catalog.ts";
import { enumField } from "../../util/enum-field.ts";
import type { SqliteDb } from "./sqlite-db.ts";
import { mergeChanges, type Params, params, type Row } from "./sqlite-rows.ts";

/**
 * Approval requests (multi-user authorization) in the SQLite catalog (schema version 4), their
 * row mapping, and the operations `SqliteCatalog` delegates to. A request is created once and then
 * only moves through its states; every update is conditional on the stored state, and the check
 * and the write share one `BEGIN IMMEDIATE` transaction, so no other connection writes in between.
 */

const SQL = {
  approval: "SELECT * FROM approvals WHERE vault_id = $vault_id AND id = $id",
  /** `seq` is one more than the table's greatest: one statement, so under the write lock. */
  insert: `INSERT INTO approvals VALUES ($vault_id, $id, $operation, $target, $params_digest,
    $requester, $created, $expires, $state, $approver, $approved, $used,
    (SELECT coalesce(max(seq), 0) + 1 FROM approvals))`,
  update: `UPDATE approvals SET state = $state, approver = $approver, approved = $approved,
    used = $used WHERE vault_id = $vault_id AND id = $id`,
} as const;

type Changes = Partial<Pick<ApprovalRecord, "state" | "approver" | "approved" | "used">>;

const CHANGEABLE = ["state", "approver", "approved", "used"];
const STATES: readonly unknown[] = Object.values(ApprovalState);

/**
 * Creates the request; `AlreadyExistsError` when its id exists in the vault. Beyond the port, a
 * malformed record is refused with `ValidationError` and one of a missing vault with `NotFoundError`.
 */
export function createApproval(db: SqliteDb, approval: ApprovalRecord): void {
  const what = `create approval ${String(approval.id)} in vault ${String(approval.vaultId)}`;
  checkApproval(what, approval);
  db.run(what, SQL.insert, approvalParams(approval));
}

/** The request `id` of the vault; `NotFoundError` naming it when there is none. */
export function getApproval(db: SqliteDb, vaultId: string, id: string): ApprovalRecord {
  return approvalFromRow(
    db.one(`approval ${id} in vault ${vaultId}`, SQL.approval, { vault_id: vaultId, id }),
  );
}

/** The vault's requests in the queried state (any by default), newest first. */
export function listApprovals(db: SqliteDb, vaultId: string, query: ApprovalQuery = {}): ApprovalRecord[] {
  const what = `list approvals of vault ${vaultId}`;
  const { state } = query;
  const where: Params = { vault_id: vaultId };
  let sql = "SELECT * FROM approvals WHERE vault_id = $vault_id";
  if (state !== undefined) {
    checkState(what, "state", state);
    sql += " AND state = $state";
    where.state = state;
  }
  return db.all(what, `${sql} ORDER BY created DESC, seq DESC`, where).map(approvalFromRow);
}

/**
 * Applies `changes` (merged like object spread, see `mergeChanges`) if the stored state is
 * `expectedState`, and returns the result; `NotFoundError` when there is no such request,
 * `ConflictError` when its state differs. Beyond the port, changes that would leave a malformed
 * record, or an `expectedState` that is no state, are refused with `ValidationError`.
 */
export function updateApproval(
  db: SqliteDb,
  vaultId: string,
  id: string,
  changes: Changes,
  expectedState: ApprovalState,
): ApprovalRecord {
  const what = `update approval ${id} in vault ${vaultId}`;
  // Checked before the transaction: a malformed update is refused without taking the lock.
  checkState(what, "expectedState", expectedState);
  checkChanges(what, changes);
  return db.transaction(what, () => {
    const key = { vault_id: vaultId, id };
    const stored = approvalFromRow(db.one(`approval ${id} in vault ${vaultId}`, SQL.approval, key));
    if (stored.state !== expectedState) {
      throw new ConflictError(`${what}: expected state ${expectedState}, but it is ${stored.state}`);
    }
    const updated = mergeChanges(what, stored, changes, CHANGEABLE, ["state"]);
    const { state, approver, approved, used } = updated;
    db.run(what, SQL.update, params({ ...key, state, approver, approved, used }));
    return updated;
  });
}

/**
 * Checks the fields' types here, not only in the schema: a STRICT TEXT column takes a number and
 * stores its text, and an INTEGER column takes text that looks like a number.
 */
function checkApproval(what: string, a: ApprovalRecord): void {
  for (const field of ["vaultId", "id"] as const) {
    if (typeof a[field] !== "string") refuse(what, `${field} must be a string`);
  }
  for (const field of ["operation", "paramsDigest", "requester"] as const) {
    if (typeof a[field] !== "string" || a[field] === "") refuse(what, `${field} must be a non-empty string`);
  }
  if (a.target !== undefined && typeof a.target !== "string") refuse(what, "target must be a string");
  for (const field of ["created", "expires"] as const) checkTime(what, field, a[field]);
  checkState(what, "state", a.state);
  checkChanges(what, { approver: a.approver, approved: a.approved, used: a.used });
}

/** The changeable fields' types; an absent or undefined optional one is fine (it clears). */
function checkChanges(what: string, changes: Changes): void {
  if (typeof changes !== "object" || changes === null) refuse(what, "changes must be an object");
  if ("state" in changes) checkState(what, "state", changes.state);
  const { approver, approved, used } = changes;
  if (approver !== undefined && (typeof approver !== "string" || approver === "")) {
    refuse(what, "approver must be a non-empty string");
  }
  if (approved !== undefined) checkTime(what, "approved", approved);
  if (used !== undefined) checkTime(what, "used", used);
}

function checkState(what: string, name: string, state: unknown): void {
  if (!STATES.includes(state))
    refuse(what, `${name} must be one of ${STATES.join(", ")}, got ${String(state)}`);
}

function checkTime(what: string, name: string, value: unknown): void {
  if (!Number.isSafeInteger(value))
    refuse(what, `${name} must be an integer (epoch ms), got ${String(value)}`);
}

function refuse(what: string, problem: string): never {
  throw new ValidationError(`${what}: ${problem}`);
}

/** Row parameters of a request but its `seq`, which the insert assigns. */
function approvalParams(a: ApprovalRecord): Params {
  return params({
    vault_id: a.vaultId,
    id: a.id,
    operation: a.operation,
    target: a.target,
    params_digest: a.paramsDigest,
    requester: a.requester,
    created: a.created,
    expires: a.expires,
    state: a.state,
    approver: a.approver,
    approved: a.approved,
    used: a.used,
  });
}

/** The request stored in `row`; NULL optional fields are left absent, and `seq` is not part of it. */
function approvalFromRow(row: Row): ApprovalRecord {
  const approval: { -readonly [K in keyof ApprovalRecord]: ApprovalRecord[K] } = {
    vaultId: row.vault_id as string,
    id: row.id as string,
    operation: row.operation as string,
    paramsDigest: row.params_digest as string,
    requester: row.requester as string,
    created: row.created as number,
    expires: row.expires as number,
    state: enumField(ApprovalState, `approval ${String(row.id)}`, "state", row.state),
  };
  if (row.target !== null) approval.target = row.target as string;
  if (row.approver !== null) approval.approver = row.approver as string;
  if (row.approved !== null) approval.approved = row.approved as number;
  if (row.used !== null) approval.used = row.used as number;
  return approval;
}

/** The operations of the `ApprovalCatalog` port. */
export const approvalOps = { createApproval, getApproval, listApprovals, updateApproval } as const;

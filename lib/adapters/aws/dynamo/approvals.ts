import { AlreadyExistsError, ConflictError, NotFoundError } from "../../../errors.ts";
import { type ApprovalRecord, ApprovalState } from "../../../model.ts";
import type { ApprovalQuery } from "../../../ports/catalog.ts";
import { checkInt, checkOneOf, checkText, fieldsOf, merge, optional, pick, refuse } from "./codec.ts";
import { INDEX, itemKey, order, SK, vaultPk } from "./keys.ts";
import type { Item } from "./ops.ts";
import { AGAIN, untilSettled } from "./retry.ts";
import type { DynamoTable } from "./store.ts";
import { NOT_EXISTS, nextTicket, writeInVault } from "./vaults.ts";

/**
 * Approval requests (multi-user authorization) in the DynamoDB catalog. A request is created
 * once and then only moves through its states; an update is conditional on the revision it read,
 * and the state it expects is checked on that same read, so two approvers racing on one pending
 * request cannot both succeed.
 */

type Changes = Partial<Pick<ApprovalRecord, "state" | "approver" | "approved" | "used">>;

const CHANGEABLE = ["state", "approver", "approved", "used"];
const REQUIRED = ["vaultId", "id", "operation", "paramsDigest", "requester", "created", "expires", "state"];
const OPTIONAL = ["target", "approver", "approved", "used"];
/** A stored state outside ApprovalState is refused when read. */
const STATE_ENUM = { state: ApprovalState };

const approvalKey = (vaultId: string, id: string) => itemKey(vaultId, SK.approval + id);

/**
 * Creates the request; `AlreadyExistsError` when its id exists in the vault. Beyond the port, a
 * malformed record is a `ValidationError` and one of a missing vault a `NotFoundError`.
 */
export async function createApproval(table: DynamoTable, approval: ApprovalRecord): Promise<void> {
  const what = `create approval ${String(approval.id)} in vault ${String(approval.vaultId)}`;
  checkApproval(what, approval);
  const ticket = await nextTicket(table, approval.vaultId, what);
  const put = { put: approvalItem(approval, ticket, 0), condition: NOT_EXISTS };
  await writeInVault(
    table,
    approval.vaultId,
    put,
    what,
    () => new AlreadyExistsError(`${what}: approval ${approval.id} already exists`),
  );
}

export async function getApproval(table: DynamoTable, vaultId: string, id: string): Promise<ApprovalRecord> {
  const item = await table.get(approvalKey(vaultId, id), `get approval ${id} of vault ${vaultId}`);
  if (item === undefined) throw new NotFoundError(`approval ${id} in vault ${vaultId} not found`);
  return pick(item, REQUIRED, OPTIONAL, STATE_ENUM);
}

/** The vault's requests in the queried state (any by default), newest first (`lsi1`). */
export async function listApprovals(
  table: DynamoTable,
  vaultId: string,
  query: ApprovalQuery = {},
): Promise<ApprovalRecord[]> {
  const what = `list approvals of vault ${vaultId}`;
  const { state } = query;
  optional(state, (s) => checkOneOf(what, "state", s, ApprovalState));
  const items = await table.query(
    {
      IndexName: INDEX.lsi1,
      KeyConditionExpression: "pk = :pk AND begins_with(lsi1, :prefix)",
      FilterExpression: state === undefined ? undefined : "#state = :state",
      ExpressionAttributeNames: state === undefined ? undefined : { "#state": "state" },
      ExpressionAttributeValues: {
        ":pk": vaultPk(vaultId),
        ":prefix": "AP#",
        ...(state === undefined ? {} : { ":state": state }),
      },
      ScanIndexForward: false,
    },
    what,
  );
  return items.map((item) => pick(item, REQUIRED, OPTIONAL, STATE_ENUM));
}

/**
 * Applies `changes` (merged like object spread) if the stored state is `expectedState`, and
 * returns the result; `NotFoundError` when there is no such request, `ConflictError` when its
 * state differs. Beyond the port, changes that would leave a malformed record, or an
 * `expectedState` that is no state, are a `ValidationError`.
 */
export async function updateApproval(
  table: DynamoTable,
  vaultId: string,
  id: string,
  changes: Changes,
  expectedState: ApprovalState,
): Promise<ApprovalRecord> {
  const what = `update approval ${id} in vault ${vaultId}`;
  checkOneOf(what, "expectedState", expectedState, ApprovalState);
  checkChanges(what, changes);
  return untilSettled(what, async () => {
    const item = await table.get(approvalKey(vaultId, id), what);
    if (item === undefined) throw new NotFoundError(`${what}: approval ${id} not found`);
    const stored = pick<ApprovalRecord>(item, REQUIRED, OPTIONAL, STATE_ENUM);
    if (stored.state !== expectedState) {
      throw new ConflictError(`${what}: expected state ${expectedState}, but it is ${stored.state}`);
    }
    const updated = merge(what, stored, changes, CHANGEABLE, ["state"]);
    const rev = item.rev as number;
    const next = approvalItem(updated, item.ticket as number, rev + 1);
    const expr = { names: { "#rev": "rev" }, values: { ":rev": rev } };
    // A moved revision: someone else changed it since the read; read again (and likely conflict).
    return (await table.put(next, "#rev = :rev", what, expr)) ? updated : AGAIN;
  });
}

function approvalItem(a: ApprovalRecord, ticket: number, rev: number): Item {
  return {
    ...approvalKey(a.vaultId, a.id),
    kind: "approval",
    ticket,
    rev,
    lsi1: `AP#${order(a.created, ticket)}`,
    ...fieldsOf(a, [...REQUIRED, ...OPTIONAL]),
  };
}

/** The request's fields: what a SQLite CHECK constraint would refuse is refused here. */
function checkApproval(what: string, a: ApprovalRecord): void {
  checkText(what, "vaultId", a.vaultId);
  checkText(what, "id", a.id);
  for (const name of ["operation", "paramsDigest", "requester"] as const)
    checkText(what, name, a[name], true);
  optional(a.target, (t) => checkText(what, "target", t));
  checkInt(what, "created", a.created);
  checkInt(what, "expires", a.expires);
  checkOneOf(what, "state", a.state, ApprovalState);
  checkChanges(what, { approver: a.approver, approved: a.approved, used: a.used });
}

/** The changeable fields' types; an absent or undefined optional one is fine (it clears). */
function checkChanges(what: string, changes: Changes): void {
  if (typeof changes !== "object" || changes === null) refuse(what, "changes must be an object");
  if ("state" in changes) checkOneOf(what, "state", changes.state, ApprovalState);
  optional(changes.approver, (a) => checkText(what, "approver", a, true));
  optional(changes.approved, (t) => checkInt(what, "approved", t));
  optional(changes.used, (t) => checkInt(what, "used", t));
}

/** The operations of the `ApprovalCatalog` port. */
export const approvalOps = { createApproval, getApproval, listApprovals, updateApproval } as const;

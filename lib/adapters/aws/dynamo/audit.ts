import { IntegrityError, NotFoundError } from "../../../errors.ts";
import { type AuditEntry, AuditOutcome } from "../../../model.ts";
import type { AuditQuery } from "../../../ports/catalog.ts";
import { checkCount, checkInt, checkOneOf, checkText, flatJson, optional, parseJson, pick } from "./codec.ts";
import { itemKey, SK, sortableCount, vaultPk } from "./keys.ts";
import type { Item } from "./ops.ts";
import { AGAIN, untilSettled } from "./retry.ts";
import type { DynamoTable } from "./store.ts";
import { NOT_EXISTS, vaultExists } from "./vaults.ts";

/**
 * The audit log in the DynamoDB catalog. Each vault has an audit head item holding the last seq
 * handed out; an append reads it and, in ONE transaction, checks the vault exists, moves the head
 * from that seq to the next (conditional on it still being that seq) and puts the entry
 * (create-only). Two appends that read the same seq cannot both commit: the loser's transaction
 * is cancelled whole, writing nothing, and it tries again with the new seq. So the log has no
 * gaps and no seq twice, and a refused append (no such vault) uses up no seq. The catalog offers
 * no way to update or delete an entry.
 */

const SEQ_FIELDS = ["vaultId", "seq", "at", "principal", "action", "outcome"];
const OPTIONAL = ["target", "detail"];

const entryKey = (vaultId: string, seq: number) => itemKey(vaultId, SK.audit + sortableCount(seq));

/**
 * Appends `entry` as its vault's next seq and returns it as `listAudit` will. Beyond the port, a
 * malformed entry (a missing or empty principal or action, an unknown outcome, a time that is no
 * integer, a detail that is not a flat object of strings, finite numbers and booleans) is a
 * `ValidationError`.
 */
export async function appendAudit(table: DynamoTable, entry: Omit<AuditEntry, "seq">): Promise<AuditEntry> {
  const what = `append ${String(entry.action)} to the audit log of vault ${String(entry.vaultId)}`;
  const fields = entryFields(what, entry);
  const { vaultId } = entry;
  const headKey = itemKey(vaultId, SK.auditHead);
  return untilSettled(what, async () => {
    const head = await table.get(headKey, what);
    const last = head === undefined ? 0 : (head.seq as number);
    const seq = last + 1;
    const item: Item = { ...entryKey(vaultId, seq), kind: "audit", ...fields, seq };
    const cancelled = await table.transact(
      [
        vaultExists(vaultId),
        {
          update: headKey,
          expression: "SET seq = :seq, kind = :kind",
          condition: last === 0 ? NOT_EXISTS : "seq = :last",
          values: { ":seq": seq, ":kind": "audit-head", ...(last === 0 ? {} : { ":last": last }) },
        },
        { put: item, condition: NOT_EXISTS },
      ],
      what,
    );
    if (cancelled === undefined) return entryFromItem(item);
    if (cancelled.failed.has(0)) throw new NotFoundError(`${what}: vault ${vaultId} does not exist`);
    if (cancelled.failed.has(2) && !cancelled.failed.has(1)) {
      // The head said seq was free, yet an entry holds it: the head and the log disagree.
      throw new IntegrityError(`${what}: audit entry ${seq} exists but the head says ${last}`);
    }
    // Another append took this seq first: take the next one.
    return AGAIN;
  });
}

/** The vault's entries after `afterSeq` matching the query, by ascending seq, at most `limit`. */
export async function listAudit(
  table: DynamoTable,
  vaultId: string,
  query: AuditQuery = {},
): Promise<AuditEntry[]> {
  const what = `list the audit log of vault ${vaultId}`;
  const { afterSeq, limit, principal, action } = query;
  checkCount(what, "afterSeq", afterSeq);
  checkCount(what, "limit", limit);
  const filters: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {
    ":pk": vaultPk(vaultId),
    ":from": SK.audit + sortableCount((afterSeq ?? 0) + 1),
    // "AUDIT$" sorts right after every "AUDIT#…" key: the end of the log.
    ":to": `${SK.audit.slice(0, -1)}$`,
  };
  if (principal !== undefined) {
    filters.push("principal = :principal");
    values[":principal"] = principal;
  }
  if (action !== undefined) {
    filters.push("#action = :action");
    names["#action"] = "action";
    values[":action"] = action;
  }
  const items = await table.query(
    {
      KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
      FilterExpression: filters.length === 0 ? undefined : filters.join(" AND "),
      ExpressionAttributeNames: filters.length === 0 || action === undefined ? undefined : names,
      ExpressionAttributeValues: values,
    },
    what,
    limit ?? Infinity,
  );
  return items.map(entryFromItem);
}

/** The stored fields of `e` (checked), but its seq; `detail` as JSON text. */
function entryFields(what: string, e: Omit<AuditEntry, "seq">): Item {
  checkText(what, "vaultId", e.vaultId);
  checkInt(what, "at", e.at);
  checkText(what, "principal", e.principal, true);
  checkText(what, "action", e.action, true);
  optional(e.target, (t) => checkText(what, "target", t));
  checkOneOf(what, "outcome", e.outcome, AuditOutcome);
  const fields: Item = {
    vaultId: e.vaultId,
    at: e.at,
    principal: e.principal,
    action: e.action,
    outcome: e.outcome,
  };
  if (e.target !== undefined) fields.target = e.target;
  if (e.detail !== undefined) fields.detail = flatJson(what, "detail", e.detail);
  return fields;
}

/** A fresh entry from its item: nothing the caller holds shares state with what is stored. */
function entryFromItem(item: Item): AuditEntry {
  const entry = pick<AuditEntry & { detail?: unknown }>(item, [...SEQ_FIELDS], OPTIONAL, {
    outcome: AuditOutcome,
  });
  if (entry.detail !== undefined) entry.detail = parseJson(`audit entry ${entry.seq}`, entry.detail);
  return entry;
}

/** The operations of the `AuditLog` port. */
export const auditOps = { appendAudit, listAudit } as const;

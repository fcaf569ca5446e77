import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from "../../../errors.ts";
import { PointState, type RecoveryPointRecord } from "../../../model.ts";
import { merge } from "./codec.ts";
import {
  becomesAvailable,
  becomesUnavailable,
  type HeadChange,
  headOp,
  pointOrder,
  readHead,
} from "./heads.ts";
import { INDEX, itemKey, part, SK, vaultPk } from "./keys.ts";
import type { Op } from "./ops.ts";
import { checkPoint, pointFromItem, pointItem } from "./records.ts";
import { AGAIN, untilSettled } from "./retry.ts";
import type { DynamoTable } from "./store.ts";
import { NOT_EXISTS, nextTicket, vaultExists } from "./vaults.ts";

/** Recovery points in the DynamoDB catalog: the conditional commit, reads, listings, updates. */

type PointChanges = Partial<Pick<RecoveryPointRecord, "tier" | "state" | "deleteAfter" | "retainUntil">>;

const pointKey = (vaultId: string, id: string) => itemKey(vaultId, SK.point + id);
const diskKey = (vaultId: string, disk: string) => itemKey(vaultId, SK.disk + disk);

/**
 * Commits `point` if its disk's newest available point is `expectedParent`, in ONE transaction:
 * the point (create-only), the vault's existence, the disk's head (conditional on the version read,
 * moved to the new point when it is available and newest) and the disk's size (when the disk is
 * registered; otherwise the check that it still is not). A refused id is `AlreadyExistsError`,
 * checked before the parent; a head that changed under us is read again.
 */
export async function commitRecoveryPoint(
  table: DynamoTable,
  point: RecoveryPointRecord,
  expectedParent: string | null,
): Promise<void> {
  const what = `commit recovery point ${String(point.id)} of disk ${String(point.disk)}`;
  checkPoint(what, point);
  if (expectedParent !== null && typeof expectedParent !== "string") {
    throw new ValidationError(`${what}: the expected parent must be a point id or null`);
  }
  const { vaultId, disk, id } = point;
  const ticket = await nextTicket(table, vaultId, what);
  const item = pointItem(point, { ticket, rev: 0 });
  const ord = pointOrder(item, point);
  await untilSettled(what, async () => {
    const [head, diskItem] = await Promise.all([
      readHead(table, vaultId, disk, what),
      table.get(diskKey(vaultId, disk), what),
    ]);
    const latest = head.point ?? null;
    if (latest !== expectedParent) {
      // The id check comes first: a retried commit that already landed says so.
      if ((await table.get(pointKey(vaultId, id), what)) !== undefined) throw exists(what, id);
      throw new ConflictError(
        `${what}: expected the disk's latest available point to be ${expectedParent ?? "none"}, but it is ${latest ?? "none"}`,
      );
    }
    const change: HeadChange =
      point.state === PointState.Available ? becomesAvailable(head, id, ord) : "keep";
    const sizeOp: Op =
      diskItem === undefined
        ? { check: diskKey(vaultId, disk), condition: NOT_EXISTS }
        : {
            update: diskKey(vaultId, disk),
            expression: "SET #size = :size",
            condition: "attribute_exists(pk)",
            names: { "#size": "size" },
            values: { ":size": point.logicalSize },
          };
    const ops: Op[] = [
      { put: item, condition: NOT_EXISTS },
      vaultExists(vaultId),
      headOp(vaultId, disk, head, change),
      sizeOp,
    ];
    const cancelled = await table.transact(ops, what);
    if (cancelled === undefined) return;
    if (cancelled.failed.has(0)) throw exists(what, id);
    if (cancelled.failed.has(1)) throw new NotFoundError(`${what}: vault ${vaultId} does not exist`);
    // The head or the disk changed since we read them: decide again on what they are now.
    return AGAIN;
  });
}

function exists(what: string, id: string): AlreadyExistsError {
  return new AlreadyExistsError(`${what}: recovery point ${id} already exists`);
}

export async function getRecoveryPoint(
  table: DynamoTable,
  vaultId: string,
  id: string,
): Promise<RecoveryPointRecord> {
  const item = await table.get(pointKey(vaultId, id), `get recovery point ${id} of vault ${vaultId}`);
  if (item === undefined) throw new NotFoundError(`recovery point ${id} in vault ${vaultId} not found`);
  return pointFromItem(item);
}

/** Points of the disk (`lsi2`) or of the whole vault (`lsi1`), newest first. */
export async function listRecoveryPoints(
  table: DynamoTable,
  vaultId: string,
  disk?: string,
): Promise<RecoveryPointRecord[]> {
  const [index, prefix] = disk === undefined ? [INDEX.lsi1, "PT#"] : [INDEX.lsi2, `PD#${part(disk)}#`];
  const items = await table.query(
    {
      IndexName: index,
      KeyConditionExpression: `pk = :pk AND begins_with(${index}, :prefix)`,
      ExpressionAttributeValues: { ":pk": vaultPk(vaultId), ":prefix": prefix },
      ScanIndexForward: false,
    },
    `list recovery points of vault ${vaultId}`,
  );
  return items.map(pointFromItem);
}

/** The point the disk's head names: the one a commit must name as its parent. */
export async function latestRecoveryPoint(
  table: DynamoTable,
  vaultId: string,
  disk: string,
): Promise<RecoveryPointRecord | undefined> {
  const what = `find the latest point of disk ${disk} in vault ${vaultId}`;
  const head = await readHead(table, vaultId, disk, what);
  if (head.point === undefined) return undefined;
  return getRecoveryPoint(table, vaultId, head.point);
}

/**
 * Applies `changes` to the point, conditional on its revision. When its state moves to or away
 * from `available`, the disk's head moves with it in the same transaction.
 */
export async function updateRecoveryPoint(
  table: DynamoTable,
  vaultId: string,
  id: string,
  changes: PointChanges,
): Promise<RecoveryPointRecord> {
  const what = `update recovery point ${id} of vault ${vaultId}`;
  return untilSettled(what, async () => {
    const item = await table.get(pointKey(vaultId, id), what);
    if (item === undefined) throw new NotFoundError(`${what}: recovery point ${id} not found`);
    const existing = pointFromItem(item);
    const updated = merge(
      what,
      existing,
      changes,
      ["tier", "state", "deleteAfter", "retainUntil"],
      ["tier", "state"],
    );
    checkPoint(what, updated);
    const rev = item.rev as number;
    const next = pointItem(updated, { ticket: item.ticket as number, rev: rev + 1 });
    const write = { put: next, condition: "#rev = :rev", names: { "#rev": "rev" }, values: { ":rev": rev } };
    const wasAvailable = existing.state === PointState.Available;
    const isAvailable = updated.state === PointState.Available;
    if (wasAvailable === isAvailable) {
      return (await table.put(next, write.condition, what, write)) ? updated : AGAIN;
    }
    const { disk } = existing;
    const head = await readHead(table, vaultId, disk, what);
    const change = isAvailable
      ? becomesAvailable(head, id, pointOrder(item, existing))
      : await becomesUnavailable(table, head, vaultId, disk, id, what);
    const cancelled = await table.transact([write, headOp(vaultId, disk, head, change)], what);
    return cancelled === undefined ? updated : AGAIN;
  });
}

/** The operations of the `PointCatalog` port. */
export const pointOps = {
  commitRecoveryPoint,
  getRecoveryPoint,
  listRecoveryPoints,
  latestRecoveryPoint,
  updateRecoveryPoint,
} as const;

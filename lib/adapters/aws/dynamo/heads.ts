import { IntegrityError } from "../../../errors.ts";
import { PointState, type RecoveryPointRecord } from "../../../model.ts";
import { INDEX, itemKey, part, SK, vaultPk } from "./keys.ts";
import type { Item, Op } from "./ops.ts";
import { orderOf, pointFromItem } from "./records.ts";
import type { DynamoTable } from "./store.ts";

/**
 * A disk's head item: its newest available recovery point (by `created`, then commit order),
 * which `commitRecoveryPoint` is conditional on. Every write that can change which point that is
 * (a commit, a point's state moving to or away from `available`) reads the head, decides the new
 * one and writes it in the same transaction as the point, conditional on the head's `version`
 * being the one it read: two such writes on one disk therefore never both succeed on a stale
 * head, and the loser retries on the new one. The version grows on every such write, even one
 * that keeps the same point, because the decision it made depended on the head it read.
 */
export interface Head {
  /** The newest available point's id; absent when the disk has none. */
  readonly point?: string;
  /** That point's order (see `order` in table.ts). */
  readonly ord?: string;
  /** 0 when there is no head item yet. */
  readonly version: number;
}

/** What a write does to the head: keep its point, make `point` (with `ord`) the head, or clear it. */
export type HeadChange = "keep" | { readonly point: string; readonly ord: string } | null;

const headKey = (vaultId: string, disk: string) => itemKey(vaultId, SK.head + disk);

/** The disk's head, read with strong consistency. */
export async function readHead(
  table: DynamoTable,
  vaultId: string,
  disk: string,
  what: string,
): Promise<Head> {
  const item = await table.get(headKey(vaultId, disk), what);
  if (item === undefined) return { version: 0 };
  const { point, ord, version } = item as { point?: string; ord?: string; version: number };
  return point === undefined ? { version } : { point, ord: ord as string, version };
}

/** The position of `item` (a point's) in its disk's order. */
export function pointOrder(item: Item, point: RecoveryPointRecord): string {
  return orderOf(point.created, item as unknown as { ticket: number; rev: number });
}

/**
 * The head change a point of order `ord` becoming available makes: it becomes the head when it is
 * newer than the current one (a point committed with an older `created` does not).
 */
export function becomesAvailable(head: Head, point: string, ord: string): HeadChange {
  return head.ord === undefined || ord > head.ord ? { point, ord } : "keep";
}

/**
 * The head change point `id` leaving the available state makes: when it was the head, the next
 * newest available point of the disk (a strongly consistent Query of the sparse `lsi3`), or none.
 */
export async function becomesUnavailable(
  table: DynamoTable,
  head: Head,
  vaultId: string,
  disk: string,
  id: string,
  what: string,
): Promise<HeadChange> {
  if (head.point !== id) return "keep";
  const newest = await table.query(
    {
      IndexName: INDEX.lsi3,
      KeyConditionExpression: "pk = :pk AND begins_with(lsi3, :prefix)",
      ExpressionAttributeValues: { ":pk": vaultPk(vaultId), ":prefix": `PA#${part(disk)}#` },
      ScanIndexForward: false,
    },
    what,
    2,
  );
  const next = newest.find((item) => item.id !== id);
  if (next === undefined) return null;
  const point = pointFromItem(next);
  if (point.state !== PointState.Available) {
    throw new IntegrityError(`${what}: point ${point.id} is indexed as available but is ${point.state}`);
  }
  return { point: point.id, ord: pointOrder(next, point) };
}

/**
 * The transaction op writing `change` to the disk's head, conditional on the head being the
 * version `head` was read at (absent when that was 0).
 */
export function headOp(vaultId: string, disk: string, head: Head, change: HeadChange): Op {
  const names: Record<string, string> = { "#v": "version" };
  const values: Record<string, unknown> = { ":next": head.version + 1 };
  let expression = "SET #v = :next, kind = :kind";
  values[":kind"] = "head";
  if (change === null) {
    expression += " REMOVE #p, #o";
    Object.assign(names, { "#p": "point", "#o": "ord" });
  } else if (change !== "keep") {
    expression += ", #p = :p, #o = :o";
    Object.assign(names, { "#p": "point", "#o": "ord" });
    Object.assign(values, { ":p": change.point, ":o": change.ord });
  }
  if (head.version === 0)
    return {
      update: headKey(vaultId, disk),
      expression,
      condition: "attribute_not_exists(pk)",
      names,
      values,
    };
  values[":v"] = head.version;
  return { update: headKey(vaultId, disk), expression, condition: "#v = :v", names, values };
}

import { BlockvaultError, TransientError, ValidationError } from "../../../errors.ts";
import type { ItemKey } from "./keys.ts";

/** An item as the document client reads and writes it. */
export type Item = Record<string, unknown>;

/** Names (`#x`) and values (`:x`) an expression refers to. */
export interface Expr {
  readonly names?: Record<string, string>;
  readonly values?: Record<string, unknown>;
}

/** One write of a transaction; `DynamoTable.transact` adds the table name. */
export type Op = Expr &
  (
    | { readonly put: Item; readonly condition?: string }
    | { readonly check: ItemKey; readonly condition: string }
    | { readonly update: ItemKey; readonly expression: string; readonly condition?: string }
    | { readonly delete: ItemKey; readonly condition?: string }
  );

/** How a cancelled transaction went: which ops' conditions failed, whether another write interfered. */
export interface Cancelled {
  /** Indexes (into the ops) whose condition failed. */
  readonly failed: ReadonlySet<number>;
  /** Another transaction or write touched one of the items at the same time: try again. */
  readonly conflict: boolean;
}

/** `op` as a TransactWriteItems element on table `tableName`. */
export function transactItem(tableName: string, op: Op) {
  const common = {
    TableName: tableName,
    ExpressionAttributeNames: op.names,
    ExpressionAttributeValues: op.values,
  };
  if ("put" in op) return { Put: { ...common, Item: op.put, ConditionExpression: op.condition } };
  if ("check" in op)
    return { ConditionCheck: { ...common, Key: op.check, ConditionExpression: op.condition } };
  if ("update" in op) {
    const { update: Key, expression: UpdateExpression, condition: ConditionExpression } = op;
    return { Update: { ...common, Key, UpdateExpression, ConditionExpression } };
  }
  return { Delete: { ...common, Key: op.delete, ConditionExpression: op.condition } };
}

const THROTTLED = new Set(["ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"]);

/**
 * What a `TransactionCanceledException` says, from its per-item `CancellationReasons`: failed
 * conditions and interfering writes are returned for the caller to judge (its conditions mean
 * different things); throttling is a retryable `TransientError`, a refused request a
 * `ValidationError`, and a cancellation for any other reason a plain `BlockvaultError`.
 */
export function cancellation(err: unknown, what: string): Cancelled {
  const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  const codes = reasons.map((r) => r.Code ?? "None");
  const listed = codes.join(", ") || "no reasons given";
  const opts = { cause: err };
  if (codes.some((c) => THROTTLED.has(c))) {
    throw new TransientError(`${what}: DynamoDB throttled the transaction (${listed})`, opts);
  }
  if (codes.includes("ValidationError")) {
    throw new ValidationError(`${what}: DynamoDB refused the transaction as invalid (${listed})`, opts);
  }
  const failed = new Set(codes.flatMap((c, i) => (c === "ConditionalCheckFailed" ? [i] : [])));
  const conflict = codes.includes("TransactionConflict");
  if (failed.size === 0 && !conflict) {
    throw new BlockvaultError(`${what}: transaction cancelled (${listed})`, opts);
  }
  return { failed, conflict };
}

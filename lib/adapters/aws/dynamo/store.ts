import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { type BlockvaultError, NotFoundError } from "../../../errors.ts";
import { awsErrorCode, translateAwsError } from "../aws-errors.ts";
import type { ItemKey } from "./keys.ts";
import { type Cancelled, cancellation, type Expr, type Item, type Op, transactItem } from "./ops.ts";

/**
 * The catalog's table and the few ways the catalog uses it: consistent reads, conditional
 * writes that report a failed condition instead of throwing, paginated Queries, transactions
 * that report their cancellation reasons. Every SDK error is translated here: a missing table is
 * a non-retryable `NotFoundError` naming it, throttling a retryable `TransientError`, the rest
 * through `translateAwsError`.
 */
export class DynamoTable {
  /** The table's name. */
  readonly name: string;
  readonly #client: DynamoDBDocumentClient;

  constructor(client: DynamoDBDocumentClient, name: string) {
    this.#client = client;
    this.name = name;
  }

  /** The item at `key` (a strongly consistent read), or undefined. */
  async get(key: ItemKey, what: string): Promise<Item | undefined> {
    const command = new GetCommand({ TableName: this.name, Key: key, ConsistentRead: true });
    return (await this.#send(() => this.#client.send(command), what)).Item;
  }

  /** Writes `item` if `condition` holds; false when it does not. */
  async put(item: Item, condition: string | undefined, what: string, expr: Expr = {}): Promise<boolean> {
    const command = new PutCommand({
      TableName: this.name,
      Item: item,
      ConditionExpression: condition,
      ExpressionAttributeNames: expr.names,
      ExpressionAttributeValues: expr.values,
    });
    return (await this.#conditional(() => this.#client.send(command), what)) !== undefined;
  }

  /** Updates the item at `key` if `condition` holds, returning it as updated; undefined when it does not. */
  async update(
    key: ItemKey,
    expression: string,
    condition: string | undefined,
    what: string,
    expr: Expr = {},
  ) {
    const command = new UpdateCommand({
      TableName: this.name,
      Key: key,
      UpdateExpression: expression,
      ConditionExpression: condition,
      ExpressionAttributeNames: expr.names,
      ExpressionAttributeValues: expr.values,
      ReturnValues: "ALL_NEW",
    });
    return this.#conditional(async () => (await this.#client.send(command)).Attributes ?? {}, what);
  }

  /**
   * Every item the Query matches, page by page (strongly consistent), stopping once `max` are
   * collected. Without a filter, DynamoDB's `Limit` keeps it from reading more than needed.
   */
  async query(input: Omit<QueryCommandInput, "TableName">, what: string, max = Infinity): Promise<Item[]> {
    const out: Item[] = [];
    if (max <= 0) return out;
    let start: Record<string, unknown> | undefined;
    do {
      const limit =
        input.FilterExpression === undefined && Number.isFinite(max) ? max - out.length : undefined;
      const command = new QueryCommand({
        ...input,
        TableName: this.name,
        ConsistentRead: true,
        ExclusiveStartKey: start,
        Limit: limit,
      });
      const page = await this.#send(() => this.#client.send(command), what);
      for (const item of page.Items ?? []) if (out.length < max) out.push(item);
      start = page.LastEvaluatedKey;
    } while (start !== undefined && out.length < max);
    return out;
  }

  /** Runs `ops` as one transaction: undefined when it committed, else why it was cancelled. */
  async transact(ops: readonly Op[], what: string): Promise<Cancelled | undefined> {
    const command = new TransactWriteCommand({ TransactItems: ops.map((op) => transactItem(this.name, op)) });
    try {
      await this.#client.send(command);
      return undefined;
    } catch (err) {
      if (awsErrorCode(err) !== "TransactionCanceledException") throw this.#translate(err, what);
      return cancellation(err, what);
    }
  }

  /** Runs a conditional write: undefined when its condition failed. */
  async #conditional<T>(call: () => Promise<T>, what: string): Promise<T | undefined> {
    try {
      return await call();
    } catch (err) {
      if (awsErrorCode(err) === "ConditionalCheckFailedException") return undefined;
      throw this.#translate(err, what);
    }
  }

  async #send<T>(call: () => Promise<T>, what: string): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw this.#translate(err, what);
    }
  }

  #translate(err: unknown, what: string): BlockvaultError {
    // On a data-plane call, ResourceNotFoundException can only mean the table (or an index).
    if (awsErrorCode(err) === "ResourceNotFoundException") {
      return new NotFoundError(
        `${what}: DynamoDB table ${this.name} does not exist or is not ACTIVE (create it with createCatalogTable)`,
        { cause: err, retryable: false },
      );
    }
    return translateAwsError(err, `${what} (DynamoDB table ${this.name})`);
  }
}

import { DeleteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ConflictError, IntegrityError, NotFoundError } from "../../../errors.ts";
import { type PackRef, PackRefState, type SegmentRef, SegmentRefState } from "../../../ports/references.ts";
import { awsErrorCode, translateAwsError } from "../aws-errors.ts";
import { type ItemKey, itemKey, part, REF_LSI, SK, sortableInt } from "./keys.ts";
import type { Expr, Item } from "./ops.ts";
import { DynamoTable } from "./store.ts";

/**
 * Item shapes of garbage collection's reference records in the catalog table, and the table
 * access they need beyond the catalog's: deleting an item (records are forgotten, leases freed).
 */

/** Attribute names: `holders` is a string set, so adding and removing holders is idempotent. */
export const A = {
  state: "state",
  holders: "holders",
  index: "idx",
  changed: "changed",
  packs: "packs",
} as const;

/** The key of pack `id`'s record. */
export function packKey(vaultId: string, id: string): ItemKey {
  return itemKey(vaultId, SK.packRef + id);
}

/** The key of segment `id`'s record. */
export function segmentKey(vaultId: string, id: string): ItemKey {
  return itemKey(vaultId, SK.segmentRef + id);
}

/** `lsi1` of a pack that left the live state: listed by state, then by when it changed. */
export function packStateValue(state: PackRefState, changed: number, id: string): string {
  return `${REF_LSI.packState}${state}#${sortableInt(changed)}#${id}`;
}

/** `lsi1` of a live pack registered at `at` and never held since. */
export function packUnheldValue(at: number, id: string): string {
  return `${REF_LSI.packUnheld}${sortableInt(at)}#${id}`;
}

/** `lsi2` of a pack named by index object `indexId`. */
export function packIndexValue(indexId: string, id: string): string {
  return `${REF_LSI.packIndex}${part(indexId)}#${id}`;
}

/** `lsi3` of a dead segment. */
export function deadSegmentValue(id: string): string {
  return `${REF_LSI.deadSegment}${id}`;
}

/** A string set's members, sorted (an absent attribute is the empty set). */
function members(item: Item, name: string): string[] {
  const value = item[name];
  if (value === undefined) return [];
  if (!(value instanceof Set)) throw damaged(item, `${name} is not a string set`);
  return [...(value as Set<string>)].sort();
}

function damaged(item: Item, problem: string): IntegrityError {
  return new IntegrityError(`reference item ${String(item.pk)} ${String(item.sk)}: ${problem}`);
}

/** The pack record of an item this module wrote. */
export function packFromItem(item: Item): PackRef {
  const state = item[A.state];
  if (!Object.values(PackRefState).includes(state as PackRefState)) throw damaged(item, "bad pack state");
  const changed = item[A.changed];
  if (!Number.isSafeInteger(changed)) throw damaged(item, "changed is not an integer");
  const index = item[A.index];
  return {
    id: String(item.sk).slice(SK.packRef.length),
    state: state as PackRefState,
    holders: members(item, A.holders).length,
    ...(typeof index === "string" ? { index } : {}),
    changed: changed as number,
  };
}

/** The segment record of an item this module wrote. */
export function segmentFromItem(item: Item): SegmentRef {
  const state = item[A.state];
  if (!Object.values(SegmentRefState).includes(state as SegmentRefState))
    throw damaged(item, "bad segment state");
  const packs = item[A.packs];
  if (!Array.isArray(packs) || !packs.every((p) => typeof p === "string"))
    throw damaged(item, "packs is not a list of strings");
  return {
    id: String(item.sk).slice(SK.segmentRef.length),
    state: state as SegmentRefState,
    holders: members(item, A.holders),
    packs: [...packs],
  };
}

/** A reference the caller's (stale) view of the vault relies on is gone: retrying may succeed. */
export function staleConflict(detail: string): ConflictError {
  return new ConflictError(`${detail}: it was garbage-collected; run the operation again`, {
    retryable: true,
  });
}

/** The catalog table with the one write the reference records add: a (conditional) delete. */
export class ReferenceTable extends DynamoTable {
  readonly #documents: DynamoDBDocumentClient;

  constructor(client: DynamoDBDocumentClient, name: string) {
    super(client, name);
    this.#documents = client;
  }

  /** Deletes the item at `key` if `condition` holds (or there is none); false when it did not hold. */
  async delete(key: ItemKey, condition: string | undefined, what: string, expr: Expr = {}): Promise<boolean> {
    const command = new DeleteCommand({
      TableName: this.name,
      Key: key,
      ConditionExpression: condition,
      ExpressionAttributeNames: expr.names,
      ExpressionAttributeValues: expr.values,
    });
    try {
      await this.#documents.send(command);
      return true;
    } catch (err) {
      const code = awsErrorCode(err);
      if (code === "ConditionalCheckFailedException") return false;
      // As DynamoTable says it: on a data-plane call this can only mean the table.
      if (code === "ResourceNotFoundException")
        throw new NotFoundError(`${what}: DynamoDB table ${this.name} does not exist or is not ACTIVE`, {
          cause: err,
          retryable: false,
        });
      throw translateAwsError(err, `${what} (DynamoDB table ${this.name})`);
    }
  }
}

/**
 * Runs `fn` on every item of `items`, a few at a time (one request per record, no batch). After
 * a failure no more are started, and the call rejects once those in flight have settled, so
 * nothing is written after it returned.
 */
export async function eachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      try {
        await fn(next);
      } catch (err) {
        queue.length = 0;
        throw err;
      }
    }
  };
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker),
  );
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
}

/** Requests in flight for one call over many packs (registering, re-indexing). */
const CONCURRENCY = 8;

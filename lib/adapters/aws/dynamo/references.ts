import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { AccessDeniedError, IntegrityError, NotFoundError } from "../../../errors.ts";
import {
  type PackRef,
  PointRelease,
  type ReferenceStore,
  type SegmentRef,
} from "../../../ports/references.ts";
import { mapLimit } from "../../../util/concurrency.ts";
import { itemKey, SK, vaultPk } from "./keys.ts";
import { packKey, ReferenceTable, segmentKey } from "./references-items.ts";
import * as lists from "./references-pack-lists.ts";
import * as packs from "./references-packs.ts";
import * as segments from "./references-segments.ts";

/** Where {@link DynamoReferenceStore} keeps its records. */
export interface DynamoReferenceStoreOptions {
  /** The catalog table (created by `createCatalogTable`): the records share the vault's partition. */
  readonly tableName: string;
  /** The client to use; the caller owns it and destroys it. */
  readonly client: DynamoDBDocumentClient;
}

/**
 * The {@link ReferenceStore} on the DynamoDB catalog table, beside the catalog's items in each
 * vault's partition (see "Garbage collection" and "DynamoDB catalog" in docs/design.md):
 * `REFVAULT` (tracking is on), `PACKREF#<id>`, `SEGREF#<id>`, `POINTREL#<id>`, `LEASE#<name>`.
 *
 * The port asks for atomicity per record only, so every method is a single GetItem, PutItem,
 * UpdateItem, DeleteItem or Query, never a transaction: holders are string sets changed with
 * ADD and DELETE (idempotent, so a retried call never counts twice), and states move with
 * UpdateItems conditional on the state they leave. The listings are strongly consistent Queries
 * of the catalog's LSIs, under prefixes of their own (`REF_LSI` in keys.ts):
 * condemned and deleted packs in `lsi1`, packs by index object in `lsi2`, dead segments in `lsi3`.
 */
/** Requests in flight for one batch call. */
const BATCH_CONCURRENCY = 8;

/** Runs every task (a bounded number at once), then rejects with the first failure, if any. */
async function settledAll<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  let failure: { error: unknown } | undefined;
  const results = await mapLimit(tasks, limit, (task) =>
    task().catch((error: unknown) => {
      failure ??= { error };
      return undefined as T;
    }),
  );
  if (failure) throw failure.error;
  return results;
}

export class DynamoReferenceStore implements ReferenceStore {
  readonly #t: ReferenceTable;

  constructor(options: DynamoReferenceStoreOptions) {
    this.#t = new ReferenceTable(options.client, options.tableName);
  }

  /**
   * Turns tracking on; `NotFoundError` when the vault does not exist. Reading the vault item and
   * then writing is enough without a transaction: a vault item is never deleted.
   */
  async track(vaultId: string): Promise<void> {
    const what = `track references of vault ${vaultId}`;
    if ((await this.#t.get(itemKey(vaultId, SK.vault), what)) === undefined)
      throw new NotFoundError(`${what}: vault ${vaultId} does not exist`);
    await this.#t.put({ ...itemKey(vaultId, SK.refVault), kind: "refvault" }, undefined, what);
  }

  async isTracking(vaultId: string): Promise<boolean> {
    return (
      (await this.#t.get(itemKey(vaultId, SK.refVault), `read tracking of vault ${vaultId}`)) !== undefined
    );
  }

  registerPacks(vaultId: string, packIds: readonly string[], at: number): Promise<void> {
    return packs.registerPacks(this.#t, vaultId, packIds, at);
  }

  setPackIndex(vaultId: string, packIds: readonly string[], indexId: string): Promise<void> {
    return packs.setPackIndex(this.#t, vaultId, packIds, indexId);
  }

  /**
   * DynamoDB has no multi-item conditional update short of a transaction: one update each. A
   * refusal rejects only after every other update has settled, so a caller that undoes on
   * failure never races an update still in flight.
   */
  async holdPacks(
    vaultId: string,
    holds: readonly { pack: string; segments: readonly string[] }[],
  ): Promise<void> {
    await settledAll(
      holds.map((h) => () => this.holdPack(vaultId, h.pack, h.segments)),
      BATCH_CONCURRENCY,
    );
  }

  /** One update each, as for packs; a dead segment rejects after the others have settled. */
  async holdSegments(
    vaultId: string,
    segments: readonly { segment: string; holders: readonly string[]; packs: readonly string[] }[],
  ): Promise<SegmentRef[]> {
    return settledAll(
      segments.map((s) => () => this.holdSegment(vaultId, s.segment, s.holders, s.packs)),
      BATCH_CONCURRENCY,
    );
  }

  holdPack(vaultId: string, packId: string, segmentIds: readonly string[]): Promise<void> {
    return packs.holdPack(this.#t, vaultId, packId, segmentIds);
  }

  releasePack(vaultId: string, packId: string, segmentIds: readonly string[]): Promise<number> {
    return packs.releasePack(this.#t, vaultId, packId, segmentIds);
  }

  condemnPack(vaultId: string, packId: string, at: number): Promise<boolean> {
    return packs.condemnPack(this.#t, vaultId, packId, at);
  }

  markPackDeleted(vaultId: string, packId: string, at: number): Promise<void> {
    return packs.markPackDeleted(this.#t, vaultId, packId, at);
  }

  async dropPack(vaultId: string, packId: string): Promise<void> {
    await this.#t.delete(packKey(vaultId, packId), undefined, `forget pack ${packId} in vault ${vaultId}`);
  }

  getPack(vaultId: string, packId: string): Promise<PackRef | undefined> {
    return packs.getPack(this.#t, vaultId, packId);
  }

  listPacks(vaultId: string, state: "condemned" | "deleted"): Promise<PackRef[]> {
    return lists.listPacks(this.#t, vaultId, state);
  }

  packsOfIndex(vaultId: string, indexId: string): Promise<PackRef[]> {
    return lists.packsOfIndex(this.#t, vaultId, indexId);
  }

  listUnheldPacks(vaultId: string, registeredBefore: number): Promise<PackRef[]> {
    return lists.listUnheldPacks(this.#t, vaultId, registeredBefore);
  }

  holdSegment(
    vaultId: string,
    segmentId: string,
    holders: readonly string[],
    packIds: readonly string[],
  ): Promise<SegmentRef> {
    return segments.holdSegment(this.#t, vaultId, segmentId, holders, packIds);
  }

  releaseSegment(
    vaultId: string,
    segmentId: string,
    holders: readonly string[],
  ): Promise<number | undefined> {
    return segments.releaseSegment(this.#t, vaultId, segmentId, holders);
  }

  killSegment(vaultId: string, segmentId: string): Promise<boolean> {
    return segments.killSegment(this.#t, vaultId, segmentId);
  }

  /**
   * Deletes the record; a caller not allowed to delete items (the backup role, undoing its
   * holds, may not delete anything) leaves it forgotten instead, which reads as no record.
   */
  async dropSegment(vaultId: string, segmentId: string): Promise<void> {
    const what = `forget segment ${segmentId} in vault ${vaultId}`;
    try {
      await this.#t.delete(segmentKey(vaultId, segmentId), undefined, what);
    } catch (err) {
      if (!(err instanceof AccessDeniedError)) throw err;
      await segments.forgetSegment(this.#t, vaultId, segmentId);
    }
  }

  getSegment(vaultId: string, segmentId: string): Promise<SegmentRef | undefined> {
    return segments.getSegment(this.#t, vaultId, segmentId);
  }

  listDeadSegments(vaultId: string): Promise<SegmentRef[]> {
    return segments.listDeadSegments(this.#t, vaultId);
  }

  async setPointRelease(vaultId: string, pointId: string, state: PointRelease | undefined): Promise<void> {
    const what = `record release of point ${pointId} in vault ${vaultId}`;
    const key = itemKey(vaultId, SK.pointRelease + pointId);
    if (state === undefined) await this.#t.delete(key, undefined, what);
    else await this.#t.put({ ...key, kind: "pointrel", state }, undefined, what);
  }

  async pointReleases(vaultId: string): Promise<Map<string, PointRelease>> {
    const items = await this.#t.query(
      {
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues: { ":pk": vaultPk(vaultId), ":prefix": SK.pointRelease },
      },
      `list point releases of vault ${vaultId}`,
    );
    const states: unknown[] = Object.values(PointRelease);
    return new Map(
      items.map((item) => {
        if (!states.includes(item.state))
          throw new IntegrityError(`reference item ${String(item.pk)} ${String(item.sk)}: bad release state`);
        return [String(item.sk).slice(SK.pointRelease.length), item.state as PointRelease];
      }),
    );
  }

  /** Takes the lease when it is free, expired before `now`, or already `owner`'s: one conditional write. */
  async acquireLease(
    vaultId: string,
    name: string,
    owner: string,
    until: number,
    now: number,
  ): Promise<boolean> {
    const updated = await this.#t.update(
      itemKey(vaultId, SK.lease + name),
      "SET #o = :o, #u = :u, #k = :kind",
      "attribute_not_exists(pk) OR #o = :o OR #u < :now",
      `take lease ${name} of vault ${vaultId}`,
      {
        names: { "#o": "owner", "#u": "until", "#k": "kind" },
        values: { ":o": owner, ":u": until, ":now": now, ":kind": "lease" },
      },
    );
    return updated !== undefined;
  }

  /**
   * Frees the lease by ending it now (`until` = 0), not by deleting the item: backups hold a
   * lease too, and the backup role may delete nothing.
   */
  async releaseLease(vaultId: string, name: string, owner: string): Promise<void> {
    await this.#t.update(
      itemKey(vaultId, SK.lease + name),
      "SET #u = :zero",
      "#o = :o",
      `free lease ${name} of vault ${vaultId}`,
      {
        names: { "#o": "owner", "#u": "until" },
        values: { ":o": owner, ":zero": 0 },
      },
    );
  }
}

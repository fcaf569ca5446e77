import { type SegmentRef, SegmentRefState } from "../../../ports/references.ts";
import { ATTR, INDEX, REF_LSI, vaultPk } from "./keys.ts";
import {
  A,
  deadSegmentValue,
  type ReferenceTable,
  segmentFromItem,
  segmentKey,
  staleConflict,
} from "./references-items.ts";

/**
 * Segment reference records: item `SEGREF#<id>` with `state`, `packs` (a list, fixed when the
 * record is created) and the string set `holders` (run names). Each change is one UpdateItem.
 *
 * A record can also be `forgotten`: what `dropSegment` leaves when the caller may not delete
 * items (the backup role, undoing its holds). It reads as no record at all, and a hold creates
 * the segment afresh over it.
 */

/** The state of a record forgotten without being deleted. */
export const FORGOTTEN = "forgotten";

/**
 * Creates a live record with `holders` and `packs`, or adds `holders` to a live one, in one
 * conditional write: a dead record fails the condition, so a hold and a kill exclude each other.
 */
export async function holdSegment(
  table: ReferenceTable,
  vaultId: string,
  segmentId: string,
  holders: readonly string[],
  packs: readonly string[],
): Promise<SegmentRef> {
  const what = `hold segment ${segmentId} in vault ${vaultId}`;
  // ADD of an empty set is refused by DynamoDB: a hold without holders only creates the record.
  const add = holders.length > 0 ? " ADD #h :h" : "";
  const updated = await table.update(
    segmentKey(vaultId, segmentId),
    `SET #s = :live, #p = if_not_exists(#p, :packs), #k = :kind${add}`,
    "attribute_not_exists(pk) OR #s = :live OR #s = :forgotten",
    what,
    {
      names: { "#s": A.state, "#p": A.packs, "#k": "kind", ...(add ? { "#h": A.holders } : {}) },
      values: {
        ":live": SegmentRefState.Live,
        ":forgotten": FORGOTTEN,
        ":packs": [...new Set(packs)].sort(),
        ":kind": "segref",
        ...(add ? { ":h": new Set(holders) } : {}),
      },
    },
  );
  if (updated === undefined) throw staleConflict(`segment ${segmentId} was released`);
  return segmentFromItem(updated);
}

/** Removes `holders`; how many remain, undefined without a record. */
export async function releaseSegment(
  table: ReferenceTable,
  vaultId: string,
  segmentId: string,
  holders: readonly string[],
): Promise<number | undefined> {
  if (holders.length === 0) return (await getSegment(table, vaultId, segmentId))?.holders.length;
  const updated = await table.update(
    segmentKey(vaultId, segmentId),
    "DELETE #h :h",
    "attribute_exists(pk) AND #s <> :forgotten",
    `release segment ${segmentId} in vault ${vaultId}`,
    {
      names: { "#h": A.holders, "#s": A.state },
      values: { ":h": new Set(holders), ":forgotten": FORGOTTEN },
    },
  );
  return updated === undefined ? undefined : segmentFromItem(updated).holders.length;
}

/**
 * Moves a live segment without holders to dead, which puts it in `lsi3`. DynamoDB removes a
 * string set that loses its last member, hence `attribute_not_exists`.
 */
export async function killSegment(
  table: ReferenceTable,
  vaultId: string,
  segmentId: string,
): Promise<boolean> {
  const updated = await table.update(
    segmentKey(vaultId, segmentId),
    `SET #s = :dead, ${ATTR.lsi3} = :by`,
    "#s = :live AND attribute_not_exists(#h)",
    `release segment ${segmentId} in vault ${vaultId}`,
    {
      names: { "#s": A.state, "#h": A.holders },
      values: {
        ":dead": SegmentRefState.Dead,
        ":live": SegmentRefState.Live,
        ":by": deadSegmentValue(segmentId),
      },
    },
  );
  return updated !== undefined;
}

export async function getSegment(
  table: ReferenceTable,
  vaultId: string,
  segmentId: string,
): Promise<SegmentRef | undefined> {
  const item = await table.get(
    segmentKey(vaultId, segmentId),
    `read segment ${segmentId} in vault ${vaultId}`,
  );
  return item === undefined || item[A.state] === FORGOTTEN ? undefined : segmentFromItem(item);
}

/**
 * Marks a dead record forgotten, keeping only its key: `dropSegment`'s way when deleting is not
 * allowed. Only a dead record moves; anything else is left as it is.
 */
export async function forgetSegment(
  table: ReferenceTable,
  vaultId: string,
  segmentId: string,
): Promise<void> {
  await table.update(
    segmentKey(vaultId, segmentId),
    `SET #s = :forgotten REMOVE #p, #h, ${ATTR.lsi3}`,
    "#s = :dead",
    `forget segment ${segmentId} in vault ${vaultId}`,
    {
      names: { "#s": A.state, "#p": A.packs, "#h": A.holders },
      values: { ":forgotten": FORGOTTEN, ":dead": SegmentRefState.Dead },
    },
  );
}

/** Dead segments by id: a Query of `lsi3`, which only dead segments are in. */
export async function listDeadSegments(table: ReferenceTable, vaultId: string): Promise<SegmentRef[]> {
  const items = await table.query(
    {
      IndexName: INDEX.lsi3,
      KeyConditionExpression: `pk = :pk AND begins_with(${ATTR.lsi3}, :prefix)`,
      ExpressionAttributeValues: { ":pk": vaultPk(vaultId), ":prefix": REF_LSI.deadSegment },
    },
    `list released segments of vault ${vaultId}`,
  );
  return items.map(segmentFromItem);
}

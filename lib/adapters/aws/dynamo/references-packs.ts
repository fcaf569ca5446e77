import { type PackRef, PackRefState } from "../../../ports/references.ts";
import { ATTR } from "./keys.ts";
import {
  A,
  eachLimited,
  packFromItem,
  packIndexValue,
  packKey,
  packStateValue,
  packUnheldValue,
  type ReferenceTable,
  staleConflict,
} from "./references-items.ts";

/**
 * Pack reference records: item `PACKREF#<id>` with `state`, `changed`, `idx` and the string set
 * `holders` (segment ids). Every change is one UpdateItem, conditional on the state it moves from.
 */

/** Creates live records for packs without one; a condemned or deleted pack is a stale conflict. */
export async function registerPacks(
  table: ReferenceTable,
  vaultId: string,
  packIds: readonly string[],
  at: number,
): Promise<void> {
  await eachLimited([...new Set(packIds)], async (id) => {
    const updated = await table.update(
      packKey(vaultId, id),
      // A new record is listed as unheld (lsi1) until its first hold.
      `SET #s = if_not_exists(#s, :live), #c = if_not_exists(#c, :at), #k = :kind, ${ATTR.lsi1} = if_not_exists(${ATTR.lsi1}, :unheld)`,
      "attribute_not_exists(pk) OR #s = :live",
      `register pack ${id} in vault ${vaultId}`,
      {
        names: { "#s": A.state, "#c": A.changed, "#k": "kind" },
        values: {
          ":live": PackRefState.Live,
          ":at": at,
          ":kind": "packref",
          ":unheld": packUnheldValue(at, id),
        },
      },
    );
    if (updated === undefined) throw await refusal(table, vaultId, id);
  });
}

/** Records the index object naming the packs (packs without a record are left alone). */
export async function setPackIndex(
  table: ReferenceTable,
  vaultId: string,
  packIds: readonly string[],
  indexId: string,
): Promise<void> {
  await eachLimited([...new Set(packIds)], async (id) => {
    await table.update(
      packKey(vaultId, id),
      `SET #i = :idx, ${ATTR.lsi2} = :by`,
      "attribute_exists(pk)",
      `record index ${indexId} of pack ${id} in vault ${vaultId}`,
      { names: { "#i": A.index }, values: { ":idx": indexId, ":by": packIndexValue(indexId, id) } },
    );
  });
}

/** Adds `segmentIds` to a live pack's holders; anything but a live record is a stale conflict. */
export async function holdPack(
  table: ReferenceTable,
  vaultId: string,
  packId: string,
  segmentIds: readonly string[],
): Promise<void> {
  // ADD of an empty set is refused by DynamoDB: holding nothing only checks the state.
  const updated =
    segmentIds.length === 0
      ? await getPack(table, vaultId, packId).then((p) => (p?.state === PackRefState.Live ? p : undefined))
      : await table.update(
          packKey(vaultId, packId),
          // The first hold takes the pack off the unheld list (lsi1 holds nothing else while live).
          `ADD #h :segs REMOVE ${ATTR.lsi1}`,
          "#s = :live",
          `hold pack ${packId} in vault ${vaultId}`,
          {
            names: { "#h": A.holders, "#s": A.state },
            values: { ":segs": new Set(segmentIds), ":live": PackRefState.Live },
          },
        );
  if (updated === undefined) throw await refusal(table, vaultId, packId);
}

/** Removes `segmentIds` from the pack's holders; how many remain (0 without a record). */
export async function releasePack(
  table: ReferenceTable,
  vaultId: string,
  packId: string,
  segmentIds: readonly string[],
): Promise<number> {
  if (segmentIds.length === 0) return (await getPack(table, vaultId, packId))?.holders ?? 0;
  const what = `release pack ${packId} in vault ${vaultId}`;
  // Conditional on the record, so that releasing a forgotten pack does not create a stub item.
  const updated = await table.update(
    packKey(vaultId, packId),
    "DELETE #h :segs",
    "attribute_exists(pk)",
    what,
    {
      names: { "#h": A.holders },
      values: { ":segs": new Set(segmentIds) },
    },
  );
  return updated === undefined ? 0 : packFromItem(updated).holders;
}

/**
 * Moves a live pack without holders to condemned: listed by state from now on, and no longer by
 * its index. DynamoDB removes a string set that loses its last member, hence `attribute_not_exists`.
 */
export async function condemnPack(
  table: ReferenceTable,
  vaultId: string,
  packId: string,
  at: number,
): Promise<boolean> {
  const condemn = { to: PackRefState.Condemned, from: PackRefState.Live, at, unheld: true };
  return leave(table, vaultId, packId, condemn, `condemn pack ${packId} in vault ${vaultId}`);
}

/** Moves a condemned pack to deleted (its tombstone); any other record is left as it is. */
export async function markPackDeleted(
  table: ReferenceTable,
  vaultId: string,
  packId: string,
  at: number,
): Promise<void> {
  const tombstone = { to: PackRefState.Deleted, from: PackRefState.Condemned, at, unheld: false };
  await leave(table, vaultId, packId, tombstone, `tombstone pack ${packId} in vault ${vaultId}`);
}

/**
 * Moves a pack from state `from` (and, when `unheld`, without holders) to `to`, listing it under
 * its new state in `lsi1` and no longer by index in `lsi2`; false when the condition failed.
 */
async function leave(
  table: ReferenceTable,
  vaultId: string,
  packId: string,
  move: { to: PackRefState; from: PackRefState; at: number; unheld: boolean },
  what: string,
): Promise<boolean> {
  const updated = await table.update(
    packKey(vaultId, packId),
    `SET #s = :to, #c = :at, ${ATTR.lsi1} = :by REMOVE ${ATTR.lsi2}`,
    move.unheld ? "#s = :from AND attribute_not_exists(#h)" : "#s = :from",
    what,
    {
      names: { "#s": A.state, "#c": A.changed, ...(move.unheld ? { "#h": A.holders } : {}) },
      values: {
        ":to": move.to,
        ":from": move.from,
        ":at": move.at,
        ":by": packStateValue(move.to, move.at, packId),
      },
    },
  );
  return updated !== undefined;
}

export async function getPack(
  table: ReferenceTable,
  vaultId: string,
  packId: string,
): Promise<PackRef | undefined> {
  const item = await table.get(packKey(vaultId, packId), `read pack ${packId} in vault ${vaultId}`);
  return item === undefined ? undefined : packFromItem(item);
}

/** The stale conflict of a pack that cannot be held or registered, saying why. */
async function refusal(table: ReferenceTable, vaultId: string, packId: string): Promise<Error> {
  const pack = await getPack(table, vaultId, packId);
  return staleConflict(pack ? `pack ${packId} is ${pack.state}` : `pack ${packId} has no reference record`);
}

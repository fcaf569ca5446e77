import { type PackRef, PackRefState } from "../../../ports/references.ts";
import { ATTR, INDEX, part, REF_LSI, sortableInt, vaultPk } from "./keys.ts";
import { A, packFromItem, type ReferenceTable } from "./references-items.ts";

/** The listings of pack reference records: strongly consistent Queries of the catalog's LSIs. */

/** Condemned or deleted packs, oldest change first: a Query of `lsi1`, which live packs are not in. */
export async function listPacks(
  table: ReferenceTable,
  vaultId: string,
  state: "condemned" | "deleted",
): Promise<PackRef[]> {
  const items = await table.query(
    {
      IndexName: INDEX.lsi1,
      KeyConditionExpression: `pk = :pk AND begins_with(${ATTR.lsi1}, :prefix)`,
      ExpressionAttributeValues: { ":pk": vaultPk(vaultId), ":prefix": `${REF_LSI.packState}${state}#` },
    },
    `list ${state} packs of vault ${vaultId}`,
  );
  return items.map(packFromItem);
}

/**
 * Live packs named by index object `indexId`, by id: a Query of `lsi2`. Condemning removes a pack
 * from it; the filter drops one re-indexed after it left the live state.
 */
export async function packsOfIndex(
  table: ReferenceTable,
  vaultId: string,
  indexId: string,
): Promise<PackRef[]> {
  const items = await table.query(
    {
      IndexName: INDEX.lsi2,
      KeyConditionExpression: `pk = :pk AND begins_with(${ATTR.lsi2}, :prefix)`,
      FilterExpression: "#s = :live",
      ExpressionAttributeNames: { "#s": A.state },
      ExpressionAttributeValues: {
        ":pk": vaultPk(vaultId),
        ":prefix": `${REF_LSI.packIndex}${part(indexId)}#`,
        ":live": PackRefState.Live,
      },
    },
    `list packs of index ${indexId} in vault ${vaultId}`,
  );
  return items.map(packFromItem);
}

/**
 * Live packs registered before `registeredBefore` and never held: a Query of `lsi1` below the
 * time (a pack's first hold removes it from there).
 */
export async function listUnheldPacks(
  table: ReferenceTable,
  vaultId: string,
  registeredBefore: number,
): Promise<PackRef[]> {
  const items = await table.query(
    {
      IndexName: INDEX.lsi1,
      KeyConditionExpression: `pk = :pk AND ${ATTR.lsi1} BETWEEN :from AND :to`,
      FilterExpression: "#s = :live",
      ExpressionAttributeNames: { "#s": A.state },
      ExpressionAttributeValues: {
        ":pk": vaultPk(vaultId),
        ":from": REF_LSI.packUnheld,
        ":to": `${REF_LSI.packUnheld}${sortableInt(registeredBefore)}`,
        ":live": PackRefState.Live,
      },
    },
    `list unheld packs of vault ${vaultId}`,
  );
  return items.map(packFromItem);
}

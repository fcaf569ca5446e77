import { PointState, type RecoveryPointRecord, Tier } from "../../model.ts";

/**
 * Bytes the available and soft-deleted points added to the store, by the tier each is in (purged
 * points hold none): what a point's `bytesStored` says, summed.
 */
export function storageByTier(points: readonly RecoveryPointRecord[]): Record<Tier, number> {
  const out = { [Tier.Snapshot]: 0, [Tier.Vault]: 0, [Tier.Archive]: 0 } as Record<Tier, number>;
  for (const p of points) if (p.state !== PointState.Purged) out[p.tier] += p.bytesStored;
  return out;
}

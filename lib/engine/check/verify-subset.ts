import { IntegrityError } from "../../errors.ts";
import { PointState } from "../../model.ts";
import { mapLimit } from "../../util/concurrency.ts";
import { BlockIndex } from "../index/block-index.ts";
import { HOLE_ID, streamManifest } from "../points/manifest.ts";
import { type LegacyHorizons, rootOf } from "../points/point-binding.ts";
import { BLOCK_ID_BYTES, idFromKey } from "../store/layout.ts";
import type { VaultContext } from "../store/vault-config.ts";
import { verifyPacks } from "./check.ts";

/** Which share of the packs one run reads: subset `bucket` (0-based) of `buckets`. */
export interface PackSubset {
  readonly bucket: number;
  readonly buckets: number;
}

/** What a verification of some disks' points found. Empty problem lists mean they are sound. */
export interface SubsetReport {
  /** Points whose manifests were checked (authentic, bound to their row, every block indexed). */
  readonly points: number;
  /** Packs those points need, and those of them this run read. */
  readonly packsNeeded: number;
  readonly packsRead: number;
  readonly blobsVerified: number;
  readonly brokenPoints: { id: string; error: string }[];
  readonly unindexedBlocks: number;
  /** Needed packs the store does not have (all of them, not only this run's subset). */
  readonly missingPacks: string[];
  readonly badBlobs: { pack: string; error: string }[];
  readonly ok: boolean;
}

/**
 * The subset a pack belongs to: its id is 256 random bits in hex, so its leading 32 bits spread
 * the packs evenly, and a pack stays in the same subset for its whole life.
 */
export function packBucket(packId: string, buckets: number): number {
  return Number.parseInt(packId.slice(0, 8), 16) % buckets;
}

/**
 * Verifies the available and soft-deleted points of `disks`: every manifest is read, checked
 * against its catalog row and its blocks looked up in the index; every pack they need is
 * checked present; and the packs of subset `subset` are read and every blob verified. Running
 * subsets 0 to `buckets - 1` in turn reads every pack once, like restic's
 * `check --read-data-subset=n/t`.
 */
export async function verifyPointSubset(
  ctx: VaultContext,
  disks: ReadonlySet<string>,
  subset: PackSubset,
): Promise<SubsetReport> {
  const { store, catalog } = ctx.deps;
  const present = new Set<string>();
  const [index, points] = await Promise.all([
    BlockIndex.load(store, ctx.secrets),
    catalog.listRecoveryPoints(ctx.config.vaultId),
    (async () => {
      for await (const info of store.list("packs/")) present.add(idFromKey(info.key));
    })(),
  ]);
  const chosen = points.filter((p) => disks.has(p.disk) && p.state !== PointState.Purged);
  const needed = new Set<string>();
  const brokenPoints: { id: string; error: string }[] = [];
  let unindexedBlocks = 0;
  const horizons: LegacyHorizons = new Map();
  await mapLimit(chosen, 4, async (point) => {
    try {
      const manifest = await streamManifest(store, ctx.secrets, point.manifest, rootOf(ctx, point, horizons));
      await manifest.complete;
      for (let at = 0; at < manifest.ids.length; at += BLOCK_ID_BYTES) {
        const id = manifest.ids.subarray(at, at + BLOCK_ID_BYTES);
        if (id.equals(HOLE_ID)) continue;
        const found = index.locate(id.toString("hex"));
        if (found) needed.add(found.pack);
        else unindexedBlocks++;
      }
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err;
      brokenPoints.push({ id: point.id, error: err.message });
    }
  });
  const missingPacks = [...needed].filter((id) => !present.has(id)).sort();
  const toRead = [...needed].filter(
    (id) => present.has(id) && packBucket(id, subset.buckets) === subset.bucket,
  );
  const badBlobs: { pack: string; error: string }[] = [];
  const blobsVerified = toRead.length > 0 ? await verifyPacks(ctx, index, toRead, badBlobs) : 0;
  return {
    points: chosen.length,
    packsNeeded: needed.size,
    packsRead: toRead.length,
    blobsVerified,
    brokenPoints,
    unindexedBlocks,
    missingPacks,
    badBlobs,
    ok:
      brokenPoints.length === 0 &&
      unindexedBlocks === 0 &&
      missingPacks.length === 0 &&
      badBlobs.length === 0,
  };
}

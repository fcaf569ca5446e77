import { BlockvaultError, IntegrityError } from "../../errors.ts";
import { PointState } from "../../model.ts";
import { PointRelease } from "../../ports/references.ts";
import { ownedArrayBuffer } from "../../util/buffers.ts";
import { mapLimit } from "../../util/concurrency.ts";
import { trackedReferences } from "../gc/chain.ts";
import { BlockIndex } from "../index/block-index.ts";
import { packDataKeys } from "../keys/pack-data-keys.ts";
import { HOLE_ID, streamManifest } from "../points/manifest.ts";
import { type LegacyHorizons, rootOf } from "../points/point-binding.ts";
import { BLOCK_ID_BYTES, idFromKey, packKey } from "../store/layout.ts";
import type { VaultContext } from "../store/vault-config.ts";
import { openingPool } from "../workers/worker-pool.ts";

/** What `checkVault` found. Empty problem lists mean every point is restorable. */
export interface CheckReport {
  readonly points: number;
  readonly packs: number;
  readonly indexedBlocks: number;
  /** Packs the index names that are not in the store. */
  readonly missingPacks: string[];
  /** Points whose manifests are missing or corrupted, with the reason. */
  readonly brokenPoints: { id: string; error: string }[];
  /** Blocks some point needs that no index object names. */
  readonly unindexedBlocks: number;
  /** Blobs that failed decryption or verification (with `readData`). */
  readonly badBlobs: { pack: string; error: string }[];
  /** Blobs read and verified (with `readData`). */
  readonly blobsVerified: number;
  /** Objects nothing refers to: left by interrupted backups, reclaimable. */
  readonly orphanPacks: string[];
  readonly orphanManifests: string[];
  readonly ok: boolean;
}

/** The vault's objects and what the catalog's points reach. */
export interface VaultInventory {
  readonly index: BlockIndex;
  readonly packs: Map<string, { key: string; size: number; modified?: number }>;
  readonly manifests: Map<string, { key: string; size: number; modified?: number }>;
  readonly reachableManifests: Set<string>;
  readonly brokenPoints: { id: string; error: string }[];
  readonly unindexedBlocks: number;
  readonly points: number;
}

/** Lists the vault's objects and walks every point's manifests (which are verified). */
export async function takeInventory(ctx: VaultContext): Promise<VaultInventory> {
  const { store, catalog } = ctx.deps;
  const list = async (prefix: string) => {
    const found = new Map<string, { key: string; size: number; modified?: number }>();
    for await (const info of store.list(prefix)) found.set(idFromKey(info.key), info);
    return found;
  };
  const [index, packs, manifests, points] = await Promise.all([
    BlockIndex.load(store, ctx.secrets),
    list("packs/"),
    list("manifests/"),
    catalog.listRecoveryPoints(ctx.config.vaultId),
  ]);
  const reachableManifests = new Set<string>();
  const brokenPoints: { id: string; error: string }[] = [];
  let unindexedBlocks = 0;
  const live = points.filter((p) => p.state !== PointState.Purged);
  // A purged point garbage collection has not released yet still needs its root manifest: the
  // collector reads its segment list to release it.
  const refs = await trackedReferences(ctx);
  if (refs) {
    const releases = await refs.pointReleases(ctx.config.vaultId);
    for (const p of points)
      if (p.state === PointState.Purged && releases.get(p.id) !== PointRelease.Released)
        reachableManifests.add(p.manifest);
  }
  // A row whose manifest is not its own (swapped, or its size, disk or parent edited) is broken.
  const horizons: LegacyHorizons = new Map();
  await mapLimit(live, 4, async (point) => {
    // Reachable before anything is read: a point whose manifests cannot be read is broken, but
    // what it names is still not an orphan for reclaim to delete.
    reachableManifests.add(point.manifest);
    try {
      const manifest = await streamManifest(store, ctx.secrets, point.manifest, rootOf(ctx, point, horizons));
      for (const s of manifest.root.segments) if (s) reachableManifests.add(s);
      await manifest.complete;
      for (let at = 0; at < manifest.ids.length; at += BLOCK_ID_BYTES) {
        const id = manifest.ids.subarray(at, at + BLOCK_ID_BYTES);
        if (!id.equals(HOLE_ID) && !index.has(id.toString("hex"))) unindexedBlocks++;
      }
    } catch (err) {
      // Only stored bytes found missing or damaged make a point broken. Any other failure (a
      // refused or failed read) says nothing about the point, and the inventory cannot be taken.
      if (!(err instanceof IntegrityError)) throw err;
      brokenPoints.push({ id: point.id, error: err.message });
    }
  });
  return { index, packs, manifests, reachableManifests, brokenPoints, unindexedBlocks, points: live.length };
}

/**
 * Checks that every recovery point is restorable: manifests present and authentic, every block
 * indexed, every indexed pack present. With `readData`, also reads every indexed blob and
 * verifies it (decryption, tag and ID), which costs a full read of the vault.
 */
export async function checkVault(
  ctx: VaultContext,
  options: { readData?: boolean } = {},
): Promise<CheckReport> {
  const inv = await takeInventory(ctx);
  const indexedPacks = inv.index.packIds();
  const missingPacks = indexedPacks.filter((id) => !inv.packs.has(id));
  const badBlobs: { pack: string; error: string }[] = [];
  let blobsVerified = 0;
  if (options.readData) {
    const present = indexedPacks.filter((id) => inv.packs.has(id));
    const verified = await verifyPacks(ctx, inv.index, present, badBlobs);
    blobsVerified = verified;
  }
  const orphanPacks = [...inv.packs.keys()].filter((id) => !inv.index.pack(id));
  const orphanManifests = [...inv.manifests.keys()].filter((id) => !inv.reachableManifests.has(id));
  return {
    points: inv.points,
    packs: inv.packs.size,
    indexedBlocks: inv.index.blockCount,
    missingPacks,
    brokenPoints: inv.brokenPoints,
    unindexedBlocks: inv.unindexedBlocks,
    badBlobs,
    blobsVerified,
    orphanPacks,
    orphanManifests,
    ok:
      missingPacks.length === 0 &&
      inv.brokenPoints.length === 0 &&
      inv.unindexedBlocks === 0 &&
      badBlobs.length === 0,
  };
}

/**
 * Reads and verifies every blob of `packIds` (decryption, tag and ID), recording each pack that
 * fails in `badBlobs`; resolves to the number of blobs verified.
 */
export async function verifyPacks(
  ctx: VaultContext,
  index: BlockIndex,
  packIds: readonly string[],
  badBlobs: { pack: string; error: string }[],
): Promise<number> {
  const { store } = ctx.deps;
  const pool = openingPool(ctx);
  const keyFor = packDataKeys(ctx, index);
  let verified = 0;
  try {
    await mapLimit(packIds, pool.size * 2, async (packId) => {
      const pack = index.pack(packId)!;
      try {
        const key = keyFor(packId);
        const bytes = await store.get(packKey(packId));
        await pool.open(await key, ownedArrayBuffer(bytes), [...pack.blobs]);
        verified += pack.blobs.length;
      } catch (err) {
        if (!(err instanceof BlockvaultError)) throw err;
        badBlobs.push({ pack: packId, error: err.message });
      }
    });
  } finally {
    await pool.close();
  }
  return verified;
}

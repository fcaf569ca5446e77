import { condemnedPacks } from "../../engine/gc/chain.ts";
import { loadLiveIndex } from "../../engine/index/block-index.ts";
import { loadManifest } from "../../engine/points/manifest.ts";
import { rootOf } from "../../engine/points/point-binding.ts";
import { restorablePoint, validateRange } from "../../engine/restore/restore.ts";
import { planReads } from "../../engine/restore/restore-plan.ts";
import { packKey } from "../../engine/store/layout.ts";
import type { VaultContext } from "../../engine/store/vault-config.ts";
import type { RecoveryPointRecord } from "../../model.ts";
import type { ObjectArchive, RestoreRequest } from "../../ports/object-archive.ts";
import type { ByteRange } from "../../ports/object-store.ts";
import { mapLimit } from "../../util/concurrency.ts";

/** What a restore will read: the point, the byte range, and the object keys of its packs. */
export interface RestorePacks {
  readonly point: RecoveryPointRecord;
  readonly range: ByteRange;
  readonly keys: readonly string[];
}

/**
 * The packs a restore of `range` of a point reads, found exactly as the engine's restore finds
 * them (block map, live index, read plan), so that what is rehydrated is what will be read.
 * Recomputed by every task rather than passed along: a large disk's pack list would not fit in
 * a state's payload.
 */
export async function restorePacks(
  ctx: VaultContext,
  pointId: string,
  range: ByteRange | undefined,
): Promise<RestorePacks> {
  const point = await restorablePoint(ctx, pointId);
  const bytes = validateRange(range, point.logicalSize);
  const [manifest, index] = await Promise.all([
    loadManifest(ctx.deps.store, ctx.secrets, point.manifest, rootOf(ctx, point)),
    loadLiveIndex(ctx.deps.store, ctx.secrets, condemnedPacks(ctx)),
  ]);
  const { blockSize } = manifest.root;
  const reads = planReads(
    manifest.ids,
    Math.floor(bytes.offset / blockSize),
    Math.ceil((bytes.offset + bytes.length) / blockSize),
    index,
  );
  return { point, range: bytes, keys: [...new Set(reads.map((r) => packKey(r.pack)))] };
}

/** The packs not readable yet: archived (no restore asked, or its copy expired), or restoring. */
export interface Unreadable {
  readonly archived: readonly string[];
  readonly restoring: readonly string[];
}

/** Where the packs stand; with no archive every object is online. */
export async function unreadablePacks(
  archive: ObjectArchive | undefined,
  keys: readonly string[],
): Promise<Unreadable> {
  if (!archive) return { archived: [], restoring: [] };
  const states = await mapLimit(keys, 16, (key) => archive.restoreState(key));
  return {
    archived: keys.filter((_, i) => states[i] === "archived"),
    restoring: keys.filter((_, i) => states[i] === "restoring"),
  };
}

/**
 * Asks for a readable copy of every archived pack among `keys` (idempotent: a restore in
 * progress is left alone) and returns how many are still not readable.
 */
export async function rehydrate(
  archive: ObjectArchive | undefined,
  keys: readonly string[],
  request: RestoreRequest,
): Promise<number> {
  const { archived, restoring } = await unreadablePacks(archive, keys);
  if (archive) await mapLimit(archived, 16, (key) => archive.requestRestore(key, request));
  return archived.length + restoring.length;
}

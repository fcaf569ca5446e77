import { NotFoundError, RetainedObjectError } from "../../errors.ts";
import { type PackRef, PackRefState, type ReferenceStore } from "../../ports/references.ts";
import { decodeIndex, type IndexedPack, writeIndex } from "../index/block-index.ts";
import { idFromKey, indexKey, packKey } from "../store/layout.ts";
import { getMetadataIfPresent } from "../store/metadata-object.ts";
import type { VaultContext } from "../store/vault-config.ts";

/** What sweeping condemned packs did. */
export interface SweepResult {
  readonly packsDeleted: string[];
  readonly bytesFreed: number;
  readonly indexObjectsRewritten: number;
  /**
   * Condemned packs left in place, still condemned, for a later run: the pack, or an index object
   * naming it, is under storage retention that has not ended.
   */
  readonly packsRetained: string[];
}

/**
 * Deletes condemned packs. First every index object naming one is rewritten without the
 * condemned packs (new object, then the old one deleted), so no backup that starts afterwards
 * can deduplicate against their blocks; then the pack objects are deleted and their records
 * become tombstones. A backup that loaded the index earlier and refers to such a pack fails its
 * hold on the tombstone and runs again.
 *
 * An object under storage retention cannot be deleted before its date. A retained index object
 * stays (its successor is written all the same), so the condemned packs it names stay condemned
 * (their records keep them out of every loaded index) and are not deleted: a tombstone is
 * dropped after a week, and a pack an index object still names must never look live again. A
 * retained pack stays condemned too. A later run tries them again.
 */
export async function sweepCondemned(ctx: VaultContext, refs: ReferenceStore): Promise<SweepResult> {
  const vaultId = ctx.config.vaultId;
  const condemned = await refs.listPacks(vaultId, PackRefState.Condemned);
  if (condemned.length === 0) {
    return { packsDeleted: [], bytesFreed: 0, indexObjectsRewritten: 0, packsRetained: [] };
  }
  const ids = new Set(condemned.map((p) => p.id));
  const sizes = new Map<string, number>();
  let rewritten = 0;
  /** Condemned packs a retained index object still names. */
  const stillNamed = new Set<string>();
  for (const indexId of await indexObjectsNaming(ctx, condemned)) {
    const packs = await readIndex(ctx, indexId);
    if (!packs) continue; // rewritten by an earlier, interrupted run
    for (const p of packs) if (ids.has(p.id)) sizes.set(p.id, p.size);
    const kept = packs.filter((p) => !ids.has(p.id));
    if (kept.length > 0) {
      const { id } = await writeIndex(ctx.deps.store, ctx.secrets, kept);
      await refs.setPackIndex(
        vaultId,
        kept.map((p) => p.id),
        id,
      );
    }
    if (await deleteUnlessRetained(ctx, indexKey(indexId))) rewritten++;
    else for (const p of packs) if (ids.has(p.id)) stillNamed.add(p.id);
  }
  let bytesFreed = 0;
  const deleted: string[] = [];
  const retained: string[] = [];
  for (const pack of condemned) {
    const size = sizes.get(pack.id) ?? (await packSize(ctx, pack.id));
    if (stillNamed.has(pack.id) || !(await deleteUnlessRetained(ctx, packKey(pack.id)))) {
      retained.push(pack.id);
      continue;
    }
    bytesFreed += size;
    await refs.markPackDeleted(vaultId, pack.id, ctx.deps.clock.now());
    deleted.push(pack.id);
  }
  return { packsDeleted: deleted, bytesFreed, indexObjectsRewritten: rewritten, packsRetained: retained };
}

/**
 * The index objects naming any of `packs`. Packs whose index was recorded need no search; one
 * whose index was never recorded (a backup stopped between writing an index object and noting
 * it) is looked for in every index object, the one step whose work grows with the vault.
 */
async function indexObjectsNaming(ctx: VaultContext, packs: readonly PackRef[]): Promise<string[]> {
  const out = new Set<string>();
  const unknown = new Set<string>();
  for (const p of packs) {
    if (p.index) out.add(p.index);
    else unknown.add(p.id);
  }
  if (unknown.size > 0) {
    for await (const info of ctx.deps.store.list("index/")) {
      const id = idFromKey(info.key);
      const named = await readIndex(ctx, id);
      if (named?.some((p) => unknown.has(p.id))) out.add(id);
    }
  }
  return [...out].sort();
}

async function readIndex(ctx: VaultContext, indexId: string): Promise<IndexedPack[] | undefined> {
  const key = indexKey(indexId);
  const bytes = await getMetadataIfPresent(ctx.deps.store, ctx.secrets, key, indexId);
  return bytes && decodeIndex(key, bytes);
}

/** Deletes the object; false when storage retention refuses it (it stays for a later run). */
async function deleteUnlessRetained(ctx: VaultContext, key: string): Promise<boolean> {
  try {
    await ctx.deps.store.delete(key);
    return true;
  } catch (err) {
    if (err instanceof RetainedObjectError) return false;
    throw err;
  }
}

async function packSize(ctx: VaultContext, packId: string): Promise<number> {
  try {
    return (await ctx.deps.store.head(packKey(packId))).size;
  } catch (err) {
    if (err instanceof NotFoundError) return 0;
    throw err;
  }
}

/** Forgets tombstones older than `olderThan` (epoch ms); returns how many. */
export async function dropTombstones(
  ctx: VaultContext,
  refs: ReferenceStore,
  olderThan: number,
): Promise<number> {
  const vaultId = ctx.config.vaultId;
  const old = (await refs.listPacks(vaultId, PackRefState.Deleted)).filter((p) => p.changed < olderThan);
  for (const p of old) await refs.dropPack(vaultId, p.id);
  return old.length;
}

import { ConflictError, IntegrityError } from "../../errors.ts";
import type { ReferenceStore } from "../../ports/references.ts";
import { mapLimit } from "../../util/concurrency.ts";
import type { BlockIndex } from "../index/block-index.ts";
import { HOLE_ID, type RootManifest } from "../points/manifest.ts";
import { BLOCK_ID_BYTES } from "../store/layout.ts";
import type { VaultContext } from "../store/vault-config.ts";
import { chainTail, MAX_INDEX_AGE_MS, RootCache, trackedReferences } from "./chain.ts";
import { bySegment, holdersForAppend } from "./holders.ts";
import { releaseHolders } from "./release.ts";

/** What a backup is about to commit, as reference tracking needs it. */
export interface NewPoint {
  readonly id: string;
  readonly disk: string;
  readonly root: RootManifest;
  /** The point's block IDs, `BLOCK_ID_BYTES` each, holes all zero. */
  readonly ids: Buffer;
  /** The index the backup deduplicated against, including the packs it wrote. */
  readonly index: BlockIndex;
  /** When that index was loaded (epoch ms). */
  readonly indexLoadedAt: number;
  /** The parent's manifest id and root, already loaded. */
  readonly parent?: { readonly manifest: string; readonly root: RootManifest };
  /**
   * Runs before anything is held (only where references are tracked): the backup records what
   * it is about to hold, for whoever finds it dead (abandoned-holds.ts).
   */
  readonly beforeHolding?: () => Promise<void>;
}

/** References a backup holds for its point until it commits; `undo` gives them back. */
export interface Retention {
  undo(): Promise<void>;
  /**
   * The packs held for the segments the point adds (what it relies on beyond its disk's chain),
   * or undefined when the vault tracks no references.
   */
  readonly packs?: readonly string[];
}

const NOTHING: Retention = { undo: async () => {} };

/**
 * Holds, before the catalog commit, every segment the new point adds to its disk's chain, and
 * through them their packs. A pack or segment the collector has condemned meanwhile makes this
 * fail with a retryable `ConflictError` (the backup's view of the index is stale), after giving
 * back what it held. Vaults without reference tracking hold nothing.
 */
export async function retainNewPoint(ctx: VaultContext, point: NewPoint): Promise<Retention> {
  const refs = await trackedReferences(ctx);
  if (!refs) return NOTHING;
  if (ctx.deps.clock.now() - point.indexLoadedAt > MAX_INDEX_AGE_MS) {
    throw new ConflictError("the backup ran longer than garbage collection allows; run it again", {
      retryable: true,
    });
  }
  const roots = new RootCache(ctx);
  if (point.parent) roots.seed(point.parent.manifest, point.parent.root.segments);
  const tail = await roots.point(await chainTail(ctx, refs, point.disk));
  const changes = bySegment(holdersForAppend(point.disk, { id: point.id, slots: point.root.segments }, tail));
  if (changes.size > 0) await point.beforeHolding?.();
  const held: [string, string[]][] = [];
  const undo = async () => {
    await releaseHolders(ctx, refs, held);
  };
  let packs: string[];
  try {
    packs = await holdAll(ctx, refs, point, [...changes], held);
    // The collector marks a tail "releasing" before it checks for running backups; checking the
    // mark after holding means one of the two always sees the other.
    await chainTail(ctx, refs, point.disk);
  } catch (err) {
    // The failure is what the caller must see. An undo that fails too leaves holds behind: a
    // leak, never a loss, and the collector's sweep of dead segments finishes what it marked.
    await undo().catch(() => {});
    throw err;
  }
  return { undo, packs };
}

/**
 * Holds the segments for their holders, then the packs their records name. The records come
 * first: if another backup created one (locating some blocks in other copies), this backup holds
 * the record's packs, not its own, so no pack is ever held for a segment that does not name it.
 * Until every pack is held the point is not committed, so nothing relies on them yet; if a hold
 * fails (a pack was condemned), undoing the point's holders releases the segments and, with
 * them, the holds. Both steps are batches: one durable write each in the embedded store.
 * Returns the packs held.
 */
async function holdAll(
  ctx: VaultContext,
  refs: ReferenceStore,
  point: NewPoint,
  changes: readonly [string, string[]][],
  held: [string, string[]][],
): Promise<string[]> {
  if (changes.length === 0) return [];
  const vaultId = ctx.config.vaultId;
  const existing = await mapLimit(changes, 16, ([segment]) => refs.getSegment(vaultId, segment));
  // Recorded before any hold: whatever part of the batch landed, the undo releases it (releasing
  // a holder never added changes nothing).
  held.push(...changes);
  const records = await refs.holdSegments(
    vaultId,
    changes.map(([segment, holders], i) => ({
      segment,
      holders,
      packs: existing[i]?.packs ?? packsOfSegment(point, segment),
    })),
  );
  const byPack = new Map<string, string[]>();
  for (const record of records) {
    for (const pack of record.packs) byPack.set(pack, [...(byPack.get(pack) ?? []), record.id]);
  }
  await refs.holdPacks(
    vaultId,
    [...byPack].map(([pack, segments]) => ({ pack, segments })),
  );
  return [...byPack.keys()];
}

/** The packs holding the blocks of `segment`, wherever it sits in the new point. */
function packsOfSegment(point: NewPoint, segment: string): string[] {
  const packs = new Set<string>();
  const perSegment = point.root.segmentBlocks * BLOCK_ID_BYTES;
  point.root.segments.forEach((id, slot) => {
    if (id !== segment) return;
    const ids = point.ids.subarray(slot * perSegment, (slot + 1) * perSegment);
    for (let at = 0; at < ids.length; at += BLOCK_ID_BYTES) {
      const block = ids.subarray(at, at + BLOCK_ID_BYTES);
      if (block.equals(HOLE_ID)) continue;
      const location = point.index.locate(block.toString("hex"));
      if (!location)
        throw new IntegrityError(`block ${block.toString("hex")} of segment ${segment} is in no pack`);
      packs.add(location.pack);
    }
  });
  return [...packs].sort();
}

import { ConflictError, IntegrityError } from "../../errors.ts";
import type { ReferenceStore } from "../../ports/references.ts";
import { mapLimit } from "../../util/concurrency.ts";
import type { BlockIndex } from "../block-index.ts";
import { BLOCK_ID_BYTES } from "../layout.ts";
import { HOLE_ID, type RootManifest } from "../manifest.ts";
import type { VaultContext } from "../vault-config.ts";
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
}

/** References a backup holds for its point until it commits; `undo` gives them back. */
export interface Retention {
  undo(): Promise<void>;
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
  const held: [string, string[]][] = [];
  const undo = async () => {
    await releaseHolders(ctx, refs, held);
  };
  try {
    // Every hold settles before an undo runs: a pack hold still in flight after the undo
    // released its segment would hold the pack for a segment that no longer exists.
    let failure: { error: unknown } | undefined;
    await mapLimit([...changes], 8, async (change) => {
      if (failure) return;
      await holdSegment(ctx, refs, point, change, held).catch((error: unknown) => {
        failure ??= { error };
      });
    });
    if (failure) throw failure.error;
    // The collector marks a tail "releasing" before it checks for running backups; checking the
    // mark after holding means one of the two always sees the other.
    await chainTail(ctx, refs, point.disk);
  } catch (err) {
    await undo();
    throw err;
  }
  return { undo };
}

/**
 * Holds one segment for `holders`, then the packs its record names. The record comes first: if
 * another backup created it (locating some blocks in other copies), this one holds the record's
 * packs, not its own, so no pack is ever held for a segment that does not name it. Until every
 * pack is held the point is not committed, so nothing relies on them yet; if a hold fails (the
 * pack was condemned), undoing the point's holders releases the segment and, with it, the holds.
 */
async function holdSegment(
  ctx: VaultContext,
  refs: ReferenceStore,
  point: NewPoint,
  [segment, holders]: [string, string[]],
  held: [string, string[]][],
): Promise<void> {
  const vaultId = ctx.config.vaultId;
  const existing = await refs.getSegment(vaultId, segment);
  const record = await refs.holdSegment(
    vaultId,
    segment,
    holders,
    existing?.packs ?? packsOfSegment(point, segment),
  );
  // Recorded before the pack holds: if one fails, the undo must release these holders too.
  held.push([segment, holders]);
  for (const pack of record.packs) await refs.holdPack(vaultId, pack, [segment]);
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

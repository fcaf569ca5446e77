import { condemnedPacks } from "../../engine/gc/chain.ts";
import { type BlockIndex, loadLiveIndex } from "../../engine/index/block-index.ts";
import { HOLE_ID, loadRoot, loadSegmentIds } from "../../engine/points/manifest.ts";
import { BLOCK_ID_BYTES } from "../../engine/store/layout.ts";
import type { VaultContext } from "../../engine/store/vault-config.ts";
import type { RecoveryPointRecord } from "../../model.ts";
import { mapLimit } from "../../util/concurrency.ts";

/** Segment manifests read at once. */
const SEGMENT_READS = 16;

/**
 * The packs holding each segment's blocks, each segment read once: the points of a disk share
 * most of their segments, so walking segments (not points) keeps the work to what is stored.
 * Blocks are located as a restore locates them (the live index's first copy); a block in no
 * live pack points at nothing that could be archived.
 */
class SegmentPacks {
  readonly #ctx: VaultContext;
  readonly #index: BlockIndex;
  readonly #packs = new Map<string, Promise<readonly string[]>>();

  constructor(ctx: VaultContext, index: BlockIndex) {
    this.#ctx = ctx;
    this.#index = index;
  }

  of(segmentId: string): Promise<readonly string[]> {
    let packs = this.#packs.get(segmentId);
    if (!packs) {
      packs = this.#load(segmentId);
      this.#packs.set(segmentId, packs);
    }
    return packs;
  }

  async #load(segmentId: string): Promise<readonly string[]> {
    const ids = await loadSegmentIds(this.#ctx.deps.store, this.#ctx.secrets, segmentId);
    const packs = new Set<string>();
    for (let at = 0; at < ids.length; at += BLOCK_ID_BYTES) {
      const id = ids.subarray(at, at + BLOCK_ID_BYTES);
      if (id.equals(HOLE_ID)) continue;
      const location = this.#index.locate(id.toString("hex"));
      if (location) packs.add(location.pack);
    }
    return [...packs];
  }
}

async function segmentsOf(ctx: VaultContext, manifest: string): Promise<string[]> {
  const root = await loadRoot(ctx.deps.store, ctx.secrets, manifest);
  return [...new Set(root.segments.filter((s): s is string => s !== null))];
}

/**
 * The ids of the packs holding blocks of `point` that none of `others` needs: the set
 * difference of the packs `point`'s block map reaches and the packs theirs reach, through the
 * vault's live index. Stops reading as soon as nothing is left exclusive.
 */
export async function exclusivePacks(
  ctx: VaultContext,
  point: RecoveryPointRecord,
  others: readonly RecoveryPointRecord[],
): Promise<string[]> {
  const index = await loadLiveIndex(ctx.deps.store, ctx.secrets, condemnedPacks(ctx));
  const packs = new SegmentPacks(ctx, index);
  if (others.some((o) => o.manifest === point.manifest)) return [];
  const candidates = new Set<string>();
  const own = await segmentsOf(ctx, point.manifest);
  for (const found of await mapLimit(own, SEGMENT_READS, (s) => packs.of(s))) {
    for (const p of found) candidates.add(p);
  }
  const seenRoots = new Set([point.manifest]);
  const seenSegments = new Set<string>();
  for (const other of others) {
    if (candidates.size === 0) break;
    if (seenRoots.has(other.manifest)) continue;
    seenRoots.add(other.manifest);
    const fresh = (await segmentsOf(ctx, other.manifest)).filter((s) => !seenSegments.has(s));
    for (const s of fresh) seenSegments.add(s);
    await mapLimit(fresh, SEGMENT_READS, async (s) => {
      for (const p of await packs.of(s)) candidates.delete(p);
    });
  }
  return [...candidates].sort();
}

import { ConflictError } from "../../errors.ts";
import type { RecoveryPointRecord } from "../../model.ts";
import { PackRefState, PointRelease, type ReferenceStore } from "../../ports/references.ts";
import { loadRoot } from "../points/manifest.ts";
import { verifyBoundFields } from "../points/point-binding.ts";
import type { VaultContext } from "../store/vault-config.ts";
import type { ChainPoint } from "./holders.ts";

/** How long a backup may run on the index it loaded before its references could be stale. */
export const MAX_INDEX_AGE_MS = 3 * 24 * 60 * 60 * 1000;

/** How long tombstones of deleted packs are kept: twice the longest backup. */
export const TOMBSTONE_MS = 2 * MAX_INDEX_AGE_MS + 24 * 60 * 60 * 1000;

/** The reference store, when the vault tracks references. */
export async function trackedReferences(ctx: VaultContext): Promise<ReferenceStore | undefined> {
  const refs = ctx.deps.references;
  return refs && (await refs.isTracking(ctx.config.vaultId)) ? refs : undefined;
}

/**
 * The disk's chain: its points not yet released, oldest first. The catalog lists newest first
 * with ties in reverse commit order, so reversing gives creation then commit order.
 */
export async function diskChain(
  ctx: VaultContext,
  refs: ReferenceStore,
  disk: string,
): Promise<{ chain: RecoveryPointRecord[]; releases: Map<string, PointRelease> }> {
  const [points, releases] = await Promise.all([
    ctx.deps.catalog.listRecoveryPoints(ctx.config.vaultId, disk),
    refs.pointReleases(ctx.config.vaultId),
  ]);
  const chain = points.filter((p) => releases.get(p.id) !== PointRelease.Released).reverse();
  return { chain, releases };
}

/** The chain's last point, refusing one the collector is releasing right now. */
export async function chainTail(
  ctx: VaultContext,
  refs: ReferenceStore,
  disk: string,
): Promise<RecoveryPointRecord | undefined> {
  const { chain, releases } = await diskChain(ctx, refs, disk);
  const tail = chain.at(-1);
  if (tail && releases.get(tail.id) === PointRelease.Releasing) {
    throw new ConflictError(
      `recovery point ${tail.id}, the last of disk "${disk}", is being released by garbage collection; run the backup again`,
      { retryable: true },
    );
  }
  return tail;
}

/** Loads root manifests' segment lists, each once. */
export class RootCache {
  private readonly roots = new Map<string, Promise<ChainPoint["slots"]>>();
  private readonly ctx: VaultContext;

  constructor(ctx: VaultContext) {
    this.ctx = ctx;
  }

  /** Seeds the cache with a root already in memory. */
  seed(manifestId: string, slots: ChainPoint["slots"]): void {
    this.roots.set(manifestId, Promise.resolve(slots));
  }

  async point(record: RecoveryPointRecord | undefined): Promise<ChainPoint | undefined> {
    if (!record) return undefined;
    let slots = this.roots.get(record.manifest);
    if (!slots) {
      // A row naming another point's root would make the collector release the wrong blocks.
      slots = loadRoot(this.ctx.deps.store, this.ctx.secrets, record.manifest).then((root) => {
        verifyBoundFields(this.ctx, record, root);
        return root.segments;
      });
      slots.catch(() => {});
      this.roots.set(record.manifest, slots);
    }
    return { id: record.id, slots: await slots };
  }
}

/** The packs to leave out of a loaded index: those condemned, when the vault tracks references. */
export function condemnedPacks(ctx: VaultContext): () => Promise<readonly { readonly id: string }[]> {
  return async () => {
    const refs = await trackedReferences(ctx);
    return refs ? refs.listPacks(ctx.config.vaultId, PackRefState.Condemned) : [];
  };
}

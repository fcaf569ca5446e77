import type { ReferenceStore, SegmentRef } from "../../ports/references.ts";
import type { VaultContext } from "../store/vault-config.ts";

/**
 * Removes holders from segments; a segment left with none is released at once (its packs lose
 * it as a holder, and packs left with none are condemned). Returns how many segments died.
 */
export async function releaseHolders(
  ctx: VaultContext,
  refs: ReferenceStore,
  changes: Iterable<readonly [string, readonly string[]]>,
): Promise<number> {
  const vaultId = ctx.config.vaultId;
  let died = 0;
  for (const [segment, holders] of changes) {
    if ((await refs.releaseSegment(vaultId, segment, holders)) !== 0) continue;
    if (!(await refs.killSegment(vaultId, segment))) continue;
    died++;
    const record = await refs.getSegment(vaultId, segment);
    if (record) await releaseDeadSegment(ctx, refs, record);
  }
  return died;
}

/**
 * Finishes releasing a dead segment: takes it off each of its packs, condemns the packs nobody
 * holds any more, then forgets the segment. Every step is idempotent, so a collector that
 * crashed half-way finishes the job on its next run (from `listDeadSegments`).
 */
export async function releaseDeadSegment(
  ctx: VaultContext,
  refs: ReferenceStore,
  segment: SegmentRef,
): Promise<void> {
  const vaultId = ctx.config.vaultId;
  for (const pack of segment.packs) {
    if ((await refs.releasePack(vaultId, pack, [segment.id])) === 0)
      await refs.condemnPack(vaultId, pack, ctx.deps.clock.now());
  }
  await refs.dropSegment(vaultId, segment.id);
}

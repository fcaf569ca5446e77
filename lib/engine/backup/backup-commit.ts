import { randomUUID } from "node:crypto";
import { ConflictError, NotFoundError } from "../../errors.ts";
import { mapLimit } from "../../util/concurrency.ts";
import type { BlockIndex } from "../index/block-index.ts";
import { type JobHeartbeat, LeaseKeeper, LeaseName } from "../jobs/heartbeat.ts";
import { HOLE_ID, type RootManifest } from "../points/manifest.ts";
import { BLOCK_ID_BYTES, manifestKey, packKey } from "../store/layout.ts";
import type { VaultContext } from "../store/vault-config.ts";

/** What a backup is about to commit, as the presence check needs it. */
export interface PointObjects {
  readonly rootId: string;
  readonly root: RootManifest;
  /** The point's block IDs, `BLOCK_ID_BYTES` each, holes all zero. */
  readonly ids: Buffer;
  /** The index the blocks are located in (the one the backup deduplicated against). */
  readonly index: BlockIndex;
  /** The parent's segments by slot: those the point shares with it need no check. */
  readonly parentSegments?: readonly (string | null)[];
  /**
   * The packs held for the point's new segments, where the vault tracks references: then these
   * are what the point relies on (a block may be located in a copy no record names).
   */
  readonly heldPacks?: readonly string[];
}

/**
 * Commits a backup's point only once every object it names beyond its parent's is known to be
 * present, under the reclaim lease: the root manifest, each segment that differs from the
 * parent's at its slot, and the packs those rely on (held for them, or where the vault tracks no
 * references, holding their blocks). The lease is what makes
 * the check last until the commit: a reclaim that was already deleting has finished (its deletes
 * are seen), and one that starts later finds this backup's job running and refuses. Packs held
 * for the point (retain.ts) cannot be collected meanwhile either. The heartbeat is confirmed last:
 * a job others have given up on (and whose leftovers they may be removing) does not commit.
 *
 * A missing object fails the backup with a retryable `ConflictError`, before anything is
 * committed: the run that follows writes missing manifests again, and a pack that is gone is
 * never reported as stored.
 */
export async function commitGuarded(
  ctx: VaultContext,
  point: PointObjects,
  heartbeat: JobHeartbeat,
  commit: () => Promise<void>,
): Promise<void> {
  await commitAllGuarded(ctx, [{ objects: point, heartbeat }], commit);
}

/** One point of a commit that makes several visible at once, and the heartbeat of its job. */
export interface GuardedPoint {
  readonly objects: PointObjects;
  readonly heartbeat: JobHeartbeat;
}

/**
 * {@link commitGuarded} for several points committed by one catalog write (the disks of a VM
 * point): under one reclaim lease, every point's objects are checked present and every job's
 * heartbeat confirmed before `commit` runs.
 */
export async function commitAllGuarded(
  ctx: VaultContext,
  points: readonly GuardedPoint[],
  commit: () => Promise<void>,
): Promise<void> {
  const refs = ctx.deps.references;
  const lease = refs && (await LeaseKeeper.await(ctx, refs, LeaseName.Reclaim, `backup:${randomUUID()}`));
  try {
    for (const { objects } of points) await checkPresent(ctx, objects);
    lease?.assertHeld();
    for (const { heartbeat } of points) await heartbeat.confirm();
    await commit();
  } finally {
    await lease?.release().catch(() => undefined);
  }
}

/** Heads every object the point needs beyond its parent's; fails naming the first missing one. */
async function checkPresent(ctx: VaultContext, point: PointObjects): Promise<void> {
  const keys = [manifestKey(point.rootId)];
  const packs = new Set<string>();
  const perSegment = point.root.segmentBlocks * BLOCK_ID_BYTES;
  point.root.segments.forEach((segment, slot) => {
    if (segment === null || segment === point.parentSegments?.[slot]) return;
    keys.push(manifestKey(segment));
    const ids = point.ids.subarray(slot * perSegment, (slot + 1) * perSegment);
    for (let at = 0; at < ids.length; at += BLOCK_ID_BYTES) {
      const block = ids.subarray(at, at + BLOCK_ID_BYTES);
      if (block.equals(HOLE_ID)) continue;
      const location = point.heldPacks ? undefined : point.index.locate(block.toString("hex"));
      if (location) packs.add(location.pack);
    }
  });
  for (const pack of point.heldPacks ?? packs) keys.push(packKey(pack));
  const missing = await mapLimit([...new Set(keys)], 16, (key) =>
    ctx.deps.store.head(key).then(
      () => undefined,
      (err: unknown) => {
        if (err instanceof NotFoundError) return key;
        throw err;
      },
    ),
  );
  const gone = missing.filter((k) => k !== undefined);
  if (gone.length > 0) {
    throw new ConflictError(
      `${gone.length} object(s) the new recovery point needs are missing (first: ${gone[0]}), removed by a concurrent reclaim or garbage collection; nothing was committed`,
      { retryable: true },
    );
  }
}

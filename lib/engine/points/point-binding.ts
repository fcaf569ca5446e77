import { BlockvaultError, IntegrityError } from "../../errors.ts";
import type { RecoveryPointRecord } from "../../model.ts";
import { mapLimit } from "../../util/concurrency.ts";
import type { VaultContext } from "../store/vault-config.ts";
import { isBound, loadRoot, type RootCheck, type RootManifest } from "./manifest.ts";

/**
 * A root manifest names the recovery point it belongs to (see "Binding the catalog to the data"
 * in docs/design.md): the point's id, vault, disk, logical size, block size, parent and creation
 * time. The catalog row a restore, a check or a backup starts from must say the same, or the row
 * was altered (its manifest swapped for another point's, its size or parent edited) and is
 * refused rather than trusted.
 */

/** The first bound root's creation time per disk, computed once per run where asked. */
export type LegacyHorizons = Map<string, Promise<number>>;

/** A {@link RootCheck} refusing a root that does not belong to `point`. */
export function rootOf(ctx: VaultContext, point: RecoveryPointRecord, horizons?: LegacyHorizons): RootCheck {
  return (root) => verifyPointRoot(ctx, point, root, horizons);
}

/**
 * Checks `root` against the catalog row `point` it was reached from, and throws an
 * {@link IntegrityError} naming the point and the first field that differs. A version 1 root
 * (written before roots named their point) is trusted only as {@link trustUnboundRoot} allows.
 */
export async function verifyPointRoot(
  ctx: VaultContext,
  point: RecoveryPointRecord,
  root: RootManifest,
  horizons?: LegacyHorizons,
): Promise<void> {
  verifyBoundFields(ctx, point, root);
  if (!isBound(root)) await trustUnboundRoot(ctx, point, horizons);
}

/**
 * The synchronous part of {@link verifyPointRoot}: every field the root holds, compared with the
 * row (a version 1 root holds the vault, disk, size and block size, not the point, parent or time).
 */
export function verifyBoundFields(ctx: VaultContext, point: RecoveryPointRecord, root: RootManifest): void {
  if (isBound(root) && root.point !== point.id) {
    throw new IntegrityError(
      `recovery point ${point.id}: the catalog names manifest ${point.manifest}, which belongs to recovery point ${root.point}`,
    );
  }
  const fields: [string, unknown, unknown][] = [
    ["vault", point.vaultId, root.vault],
    ["disk", point.disk, root.disk],
    ["logical size", point.logicalSize, root.logicalSize],
    ["block size", ctx.config.blockSize, root.blockSize],
  ];
  if (isBound(root))
    fields.push(["parent", point.parent, root.parent], ["creation time", point.created, root.created]);
  for (const [field, catalog, manifest] of fields) {
    if (catalog !== manifest) {
      throw new IntegrityError(
        `recovery point ${point.id}: the catalog's ${field} (${String(catalog)}) does not match its manifest's (${String(manifest)})`,
      );
    }
  }
}

/**
 * Decides whether a row whose root is version 1 may be trusted. Such a root cannot say which point
 * it belongs to, so a catalog editor could hang it under any row of the same disk and size; it is
 * trusted only where no bound root contradicts the row:
 * - never in a vault created with bound roots (it cannot hold a version 1 root of its own);
 * - otherwise only for a row dated before its disk's first bound root (by that root's own,
 *   authenticated time): every point created since then has a bound root, so a newer row with a
 *   version 1 root is an old root under a new label.
 */
export async function trustUnboundRoot(
  ctx: VaultContext,
  point: RecoveryPointRecord,
  horizons: LegacyHorizons = new Map(),
): Promise<void> {
  if (ctx.config.boundRoots) {
    throw new IntegrityError(
      `recovery point ${point.id}: its manifest ${point.manifest} names no recovery point, and this vault only ever wrote manifests that do; refusing the catalog row`,
    );
  }
  let horizon = horizons.get(point.disk);
  if (!horizon) {
    horizon = firstBoundRoot(ctx, point.disk);
    horizons.set(point.disk, horizon);
  }
  const since = await horizon;
  if (point.created >= since) {
    throw new IntegrityError(
      `recovery point ${point.id}: its manifest ${point.manifest} names no recovery point (written before manifests did), but the catalog dates the point at or after disk "${point.disk}"'s first manifest that does (${new Date(since).toISOString()}); refusing the catalog row`,
    );
  }
}

/** Roots read at once while looking for a disk's first bound root. */
const ROOT_READS = 16;

/**
 * The creation time of the disk's earliest bound root among the roots its catalog rows name
 * (Infinity when there is none). A root that cannot be read (a purged point's) claims nothing.
 */
async function firstBoundRoot(ctx: VaultContext, disk: string): Promise<number> {
  const { store, catalog } = ctx.deps;
  const rows = await catalog.listRecoveryPoints(ctx.config.vaultId, disk);
  const times = await mapLimit(rows, ROOT_READS, async (row) => {
    try {
      const root = await loadRoot(store, ctx.secrets, row.manifest);
      return isBound(root) && root.disk === disk ? root.created : Number.POSITIVE_INFINITY;
    } catch (err) {
      if (err instanceof BlockvaultError) return Number.POSITIVE_INFINITY;
      throw err;
    }
  });
  return times.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
}

import { COPY_REF_PREFIX } from "../engine/copy/point-source.ts";
import { retainPoints } from "../engine/points/object-retention.ts";
import type { VaultContext } from "../engine/store/vault-config.ts";
import { AccessDeniedError } from "../errors.ts";
import { type DiskRecord, PointState, type RecoveryPointRecord } from "../model.ts";
import { softDelete } from "./soft-delete.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Raises the committed retention end of point `pointId` to `days` days after it was created (never
 * lowers it): its stored objects are held first, then the floor is written, as the policy's
 * floors are (see point-retention.ts), so a crash between the two leaves objects held and the
 * point no less protected. A writer that may not set storage retention (the copy role of another
 * account, writing through the destination's gate) writes the floor alone: the destination's own
 * daily expiry run holds the objects ({@link retainKeptCopies}), and until then its roles do,
 * since the writer cannot delete.
 */
export async function retainForDays(ctx: VaultContext, pointId: string, days: number): Promise<void> {
  const point = await ctx.deps.catalog.getRecoveryPoint(ctx.config.vaultId, pointId);
  const until = Math.max(point.retainUntil ?? 0, point.created + days * DAY_MS);
  if (until === point.retainUntil) return;
  await retainPoints(ctx, [{ ...point, retainUntil: until }]).catch((err: unknown) => {
    if (!(err instanceof AccessDeniedError)) throw err;
  });
  await ctx.deps.catalog.updateRecoveryPoint(ctx.config.vaultId, pointId, { retainUntil: until });
}

/**
 * Holds the stored objects of every kept copy of the vault until its retention end (retention
 * only extends, so this is safe to repeat): what a copy written without storage-retention rights
 * leaves to the destination. Returns how many copies it covered.
 */
export async function retainKeptCopies(ctx: VaultContext): Promise<number> {
  const now = ctx.deps.clock.now();
  const kept: RecoveryPointRecord[] = [];
  for (const disk of await ctx.deps.catalog.listDisks(ctx.config.vaultId)) {
    for (const point of await ctx.deps.catalog.listRecoveryPoints(ctx.config.vaultId, disk.name)) {
      if (point.state === PointState.Available && isKeptCopy(point) && (point.retainUntil as number) > now)
        kept.push(point);
    }
  }
  await retainPoints(ctx, kept);
  return kept.length;
}

/** Whether `point` is a copy of another vault's point kept for a copy rule's days. */
export function isKeptCopy(point: RecoveryPointRecord): boolean {
  return point.sourceRef?.startsWith(COPY_REF_PREFIX) === true && point.retainUntil !== undefined;
}

/**
 * Retention of a disk no policy of this vault protects: copies made with a retention (see
 * `copyTo`) are soft-deleted once their retention end has passed; every other point stays until
 * someone deletes it, as points of an unprotected disk always do. Returns the ids soft-deleted.
 */
export async function expireCopies(ctx: VaultContext, disk: DiskRecord, now: number): Promise<string[]> {
  const points = await ctx.deps.catalog.listRecoveryPoints(ctx.config.vaultId, disk.name);
  const due = points.filter(
    (p) => p.state === PointState.Available && isKeptCopy(p) && (p.retainUntil as number) <= now,
  );
  const expired: string[] = [];
  for (const point of due) {
    try {
      await softDelete(ctx, point.id);
      expired.push(point.id);
    } catch (err) {
      // The lock measures the end itself: a point it still holds is expired by a later run.
      if (!(err instanceof AccessDeniedError)) throw err;
    }
  }
  return expired;
}

import type { VaultContext } from "../engine/store/vault-config.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { PointState, type RecoveryPointRecord } from "../model.ts";
import { type Actor, OWNER_ACTOR, requireEarlyDeleteApproval } from "./approvals.ts";
import { checkDeleteAllowed } from "./lock.ts";
import { purgeExpiredVmPoints, refuseDiskOfVmPoint } from "./vm-points.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

async function point(ctx: VaultContext, id: string): Promise<RecoveryPointRecord> {
  try {
    return await ctx.deps.catalog.getRecoveryPoint(ctx.config.vaultId, id);
  } catch (err) {
    if (err instanceof NotFoundError)
      throw new NotFoundError(`recovery point ${id} does not exist`, { cause: err });
    throw err;
  }
}

/**
 * Deletes a recovery point softly: it becomes `soft-deleted` and stays restorable, and can be
 * undeleted, until the vault's soft-delete period has passed; then `purgeExpired` purges it.
 * With soft delete disabled the point is purged at once.
 */
export async function softDelete(
  ctx: VaultContext,
  id: string,
  actor: Actor = OWNER_ACTOR,
): Promise<RecoveryPointRecord> {
  const current = await point(ctx, id);
  await refuseDiskOfVmPoint(ctx, id, "delete");
  if (current.state !== PointState.Available) {
    throw new ConflictError(`recovery point ${id} is ${current.state}, not available`);
  }
  const retained = await checkDeleteAllowed(ctx, current);
  if (retained) {
    await requireEarlyDeleteApproval(ctx, actor, id);
  }
  const settings = await ctx.deps.catalog.getSettings(ctx.config.vaultId);
  const now = ctx.deps.clock.now();
  if (!settings.softDeleteEnabled) {
    return ctx.deps.catalog.updateRecoveryPoint(ctx.config.vaultId, id, {
      state: PointState.Purged,
      deleteAfter: now,
    });
  }
  return ctx.deps.catalog.updateRecoveryPoint(ctx.config.vaultId, id, {
    state: PointState.SoftDeleted,
    deleteAfter: now + settings.softDeleteDays * DAY_MS,
  });
}

/** Brings a soft-deleted point back, as long as its soft-delete period has not ended. */
export async function undelete(ctx: VaultContext, id: string): Promise<RecoveryPointRecord> {
  const current = await point(ctx, id);
  await refuseDiskOfVmPoint(ctx, id, "undelete");
  if (current.state !== PointState.SoftDeleted) {
    throw new ConflictError(`recovery point ${id} is ${current.state}, not soft-deleted`);
  }
  if ((current.deleteAfter ?? 0) <= ctx.deps.clock.now()) {
    throw new ConflictError(`recovery point ${id}'s soft-delete period has ended; it is being purged`);
  }
  return ctx.deps.catalog.updateRecoveryPoint(ctx.config.vaultId, id, {
    state: PointState.Available,
    deleteAfter: undefined,
  });
}

/**
 * Purges the soft-deleted points whose period has ended: they can no longer be restored or
 * undeleted. Returns their ids. (Releasing their blocks is the garbage collector's job.)
 */
export async function purgeExpired(ctx: VaultContext): Promise<string[]> {
  const now = ctx.deps.clock.now();
  const points = await ctx.deps.catalog.listRecoveryPoints(ctx.config.vaultId);
  const due = points.filter((p) => p.state === PointState.SoftDeleted && (p.deleteAfter ?? 0) <= now);
  for (const p of due)
    await ctx.deps.catalog.updateRecoveryPoint(ctx.config.vaultId, p.id, { state: PointState.Purged });
  // A VM point's disks were deleted together, so they purge together: the VM point follows them.
  await purgeExpiredVmPoints(ctx);
  return due.map((p) => p.id);
}

import type { VaultContext } from "../engine/store/vault-config.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { PointState, type RecoveryPointRecord, type VmPointRecord } from "../model.ts";
import { type Actor, OWNER_ACTOR, requireEarlyDeleteApproval } from "./approvals.ts";
import { checkDeleteAllowed } from "./lock.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** The VM point `id`, with a message naming it when it does not exist. */
export async function vmPoint(ctx: VaultContext, id: string): Promise<VmPointRecord> {
  try {
    return await ctx.deps.catalog.getVmPoint(ctx.config.vaultId, id);
  } catch (err) {
    if (err instanceof NotFoundError)
      throw new NotFoundError(`VM point ${id} does not exist`, { cause: err });
    throw err;
  }
}

/**
 * Refuses to delete or undelete one disk's point of a VM point on its own: the VM point is the
 * unit, and a VM point missing a disk would restore as a VM that cannot boot.
 */
export async function refuseDiskOfVmPoint(ctx: VaultContext, pointId: string, verb: string): Promise<void> {
  const owner = await ctx.deps.catalog.vmPointOf(ctx.config.vaultId, pointId);
  if (owner !== undefined) {
    throw new ConflictError(
      `recovery point ${pointId} is a disk of VM point ${owner}: ${verb} the VM point instead (blockvault vm ${verb}-point ${owner})`,
    );
  }
}

/**
 * Soft-deletes a VM point as one: every rule is checked on every disk's point first (a lock
 * refuses if any disk's retention runs; an early delete of any needs one approval, for the VM
 * point), then each disk's point and the VM point change state together, the VM point last.
 * Repeating a delete that was interrupted finishes it (disk points already deleted are skipped).
 */
export async function deleteVmPoint(
  ctx: VaultContext,
  id: string,
  actor: Actor = OWNER_ACTOR,
): Promise<VmPointRecord> {
  const vp = await vmPoint(ctx, id);
  if (vp.state !== PointState.Available)
    throw new ConflictError(`VM point ${id} is ${vp.state}, not available`);
  const points = await diskPoints(ctx, vp);
  const live = points.filter((p) => p.state === PointState.Available);
  let retained = false;
  for (const p of live) retained = (await checkDeleteAllowed(ctx, p)) || retained;
  if (retained) {
    await requireEarlyDeleteApproval(ctx, actor, id);
  }
  const settings = await ctx.deps.catalog.getSettings(ctx.config.vaultId);
  const now = ctx.deps.clock.now();
  const change = settings.softDeleteEnabled
    ? { state: PointState.SoftDeleted, deleteAfter: now + settings.softDeleteDays * DAY_MS }
    : { state: PointState.Purged, deleteAfter: now };
  for (const p of live) await ctx.deps.catalog.updateRecoveryPoint(ctx.config.vaultId, p.id, change);
  return ctx.deps.catalog.updateVmPoint(ctx.config.vaultId, id, change);
}

/** Brings a soft-deleted VM point back, every disk's point with it, while its period lasts. */
export async function undeleteVmPoint(ctx: VaultContext, id: string): Promise<VmPointRecord> {
  const vp = await vmPoint(ctx, id);
  if (vp.state !== PointState.SoftDeleted)
    throw new ConflictError(`VM point ${id} is ${vp.state}, not soft-deleted`);
  if ((vp.deleteAfter ?? 0) <= ctx.deps.clock.now()) {
    throw new ConflictError(`VM point ${id}'s soft-delete period has ended; it is being purged`);
  }
  const points = await diskPoints(ctx, vp);
  const gone = points.find((p) => p.state === PointState.Purged);
  if (gone) throw new ConflictError(`VM point ${id}: the point ${gone.id} of disk ${gone.disk} was purged`);
  const change = { state: PointState.Available, deleteAfter: undefined };
  for (const p of points) {
    if (p.state === PointState.SoftDeleted)
      await ctx.deps.catalog.updateRecoveryPoint(ctx.config.vaultId, p.id, change);
  }
  return ctx.deps.catalog.updateVmPoint(ctx.config.vaultId, id, change);
}

/** Marks purged the soft-deleted VM points whose period has ended (their disks' points purge alike). */
export async function purgeExpiredVmPoints(ctx: VaultContext): Promise<string[]> {
  const now = ctx.deps.clock.now();
  const due = (await ctx.deps.catalog.listVmPoints(ctx.config.vaultId)).filter(
    (p) => p.state === PointState.SoftDeleted && (p.deleteAfter ?? 0) <= now,
  );
  for (const p of due)
    await ctx.deps.catalog.updateVmPoint(ctx.config.vaultId, p.id, { state: PointState.Purged });
  return due.map((p) => p.id);
}

async function diskPoints(ctx: VaultContext, vp: VmPointRecord): Promise<RecoveryPointRecord[]> {
  return Promise.all(vp.points.map((id) => ctx.deps.catalog.getRecoveryPoint(ctx.config.vaultId, id)));
}

import { validateDiskName } from "../engine/disk-name.ts";
import type { VaultContext } from "../engine/vault-config.ts";
import { AccessDeniedError, NotFoundError } from "../errors.ts";
import { type DiskRecord, LockState, PointState } from "../model.ts";
import type { VolumeSource } from "../ports/volume-source.ts";
import { type Actor, CriticalOperation, OWNER_ACTOR, requireApproval } from "./approvals.ts";
import { getPolicy } from "./policies.ts";

/**
 * Puts a disk under a policy: the scheduler (`run-due`) then backs up `source` at the policy's
 * slots and applies its retention. The source must be readable now, and a disk that already has
 * points must keep its size.
 */
export async function protect(
  ctx: VaultContext,
  source: VolumeSource,
  disk: string,
  policyName: string,
): Promise<DiskRecord> {
  validateDiskName(disk);
  await getPolicy(ctx, policyName);
  const { catalog, clock } = ctx.deps;
  const existing = await catalog.getDisk(ctx.config.vaultId, disk).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  const record: DiskRecord = {
    vaultId: ctx.config.vaultId,
    name: disk,
    created: existing?.created ?? clock.now(),
    size: existing?.size ?? source.size,
    source: source.description,
    policy: policyName,
  };
  await catalog.putDisk(record);
  return record;
}

/**
 * Stops protecting a disk: no more scheduled backups, no more retention. Its points stay, unless
 * `deletePoints`, which soft-deletes every available point: a critical operation (a second
 * person's approval) that a vault lock forbids outright.
 */
export async function unprotect(
  ctx: VaultContext,
  disk: string,
  options: { deletePoints?: boolean },
  actor: Actor = OWNER_ACTOR,
): Promise<DiskRecord> {
  const { catalog } = ctx.deps;
  const vaultId = ctx.config.vaultId;
  const record = await catalog.getDisk(vaultId, disk).catch((err: unknown) => {
    if (err instanceof NotFoundError)
      throw new NotFoundError(`disk "${disk}" is not protected here`, { cause: err });
    throw err;
  });
  if (options.deletePoints) {
    const settings = await catalog.getSettings(vaultId);
    if (settings.lock !== LockState.Unlocked) {
      throw new AccessDeniedError(
        `the vault lock (${settings.lock}) forbids stopping protection with deletion`,
      );
    }
    await requireApproval(ctx, actor.principal, {
      operation: CriticalOperation.StopProtectionAndDelete,
      target: disk,
      params: { disk, deletePoints: true },
      ...(actor.approvalId ? { approvalId: actor.approvalId } : {}),
    });
  }
  const { policy: _, ...rest } = record;
  await catalog.putDisk(rest);
  if (options.deletePoints) {
    const points = await catalog.listRecoveryPoints(vaultId, disk);
    // The approval covered these deletions: each goes straight to soft-deleted, as a user delete would.
    const settings = await catalog.getSettings(vaultId);
    const now = ctx.deps.clock.now();
    for (const p of points.filter((x) => x.state === PointState.Available)) {
      await catalog.updateRecoveryPoint(vaultId, p.id, {
        state: settings.softDeleteEnabled ? PointState.SoftDeleted : PointState.Purged,
        deleteAfter: now + settings.softDeleteDays * 24 * 60 * 60 * 1000,
      });
    }
  }
  return rest;
}

import { validateDiskName } from "../engine/backup/disk-name.ts";
import type { VaultContext } from "../engine/store/vault-config.ts";
import { AccessDeniedError, NotFoundError } from "../errors.ts";
import { type DiskRecord, LockState, PointState } from "../model.ts";
import type { VolumeSource } from "../ports/volume-source.ts";
import { type Actor, CriticalOperation, OWNER_ACTOR, requireApproval } from "./approvals.ts";
import { commitRetention, shortenedPoints } from "./point-retention.ts";
import { getPolicy, policyOf } from "./policies.ts";

/** The disk's record, or undefined when the vault does not know it. */
async function knownDisk(ctx: VaultContext, disk: string): Promise<DiskRecord | undefined> {
  return ctx.deps.catalog.getDisk(ctx.config.vaultId, disk).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
}

/**
 * Puts a disk under a policy: the scheduler (`run-due`) then backs up `source` at the policy's
 * slots and applies its retention. The source must be readable now, and a disk that already has
 * points must keep its size. Moving a disk to a policy under which any of its points would be
 * deleted sooner is a critical operation: a lock forbids it, otherwise a second person approves.
 */
export async function protect(
  ctx: VaultContext,
  source: VolumeSource,
  disk: string,
  policyName: string,
  actor: Actor = OWNER_ACTOR,
): Promise<DiskRecord> {
  validateDiskName(disk);
  const next = (await getPolicy(ctx, policyName)).definition;
  const existing = await knownDisk(ctx, disk);
  const current = existing ? await policyOf(ctx, existing) : undefined;
  const shortened = await shortenedPoints(ctx, disk, current, next);
  if (shortened.length > 0) {
    const settings = await ctx.deps.catalog.getSettings(ctx.config.vaultId);
    if (settings.lock !== LockState.Unlocked) {
      throw new AccessDeniedError(
        `the vault lock (${settings.lock}) forbids giving disk "${disk}" policy "${policyName}": ${shortened.length} of its recovery points would be deleted sooner`,
      );
    }
    await requireApproval(ctx, actor.principal, {
      operation: CriticalOperation.ChangeDiskPolicy,
      target: disk,
      params: { disk, policy: policyName },
      ...(actor.approvalId ? { approvalId: actor.approvalId } : {}),
    });
  }
  const record: DiskRecord = {
    vaultId: ctx.config.vaultId,
    name: disk,
    created: existing?.created ?? ctx.deps.clock.now(),
    size: existing?.size ?? source.size,
    source: source.description,
    policy: policyName,
  };
  await ctx.deps.catalog.putDisk(record);
  // An approved shortening lowers the committed ends to the new policy's; otherwise they only rise.
  await commitRetention(ctx, disk, next, { reset: shortened.length > 0 });
  return record;
}

/**
 * Stops protecting a disk: no more scheduled backups, no more retention. Its points stay, each
 * with the retention end its policy gave it committed to the point first, so stopping protection
 * never makes a point deletable sooner. With `deletePoints`, every available point is
 * soft-deleted: a critical operation (a second person's approval) that a vault lock forbids.
 */
export async function unprotect(
  ctx: VaultContext,
  disk: string,
  options: { deletePoints?: boolean },
  actor: Actor = OWNER_ACTOR,
): Promise<DiskRecord> {
  const { catalog } = ctx.deps;
  const vaultId = ctx.config.vaultId;
  const record = await knownDisk(ctx, disk);
  if (!record) throw new NotFoundError(`disk "${disk}" is not protected here`);
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
  } else {
    // Before the policy goes: a crash in between leaves the points held longer, never shorter.
    await commitRetention(ctx, disk, await policyOf(ctx, record), { final: true });
  }
  const { policy: _, ...rest } = record;
  await catalog.putDisk(rest);
  if (options.deletePoints) await deleteAllPoints(ctx, disk);
  return rest;
}

/** Soft-deletes (or purges, with soft delete off) every available point: the approval covered it. */
async function deleteAllPoints(ctx: VaultContext, disk: string): Promise<void> {
  const { catalog } = ctx.deps;
  const vaultId = ctx.config.vaultId;
  const points = await catalog.listRecoveryPoints(vaultId, disk);
  const settings = await catalog.getSettings(vaultId);
  const now = ctx.deps.clock.now();
  for (const p of points.filter((x) => x.state === PointState.Available)) {
    await catalog.updateRecoveryPoint(vaultId, p.id, {
      state: settings.softDeleteEnabled ? PointState.SoftDeleted : PointState.Purged,
      deleteAfter: now + settings.softDeleteDays * 24 * 60 * 60 * 1000,
    });
  }
}

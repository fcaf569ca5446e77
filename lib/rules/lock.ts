import { retainAllPoints } from "../engine/points/object-retention.ts";
import type { VaultContext } from "../engine/store/vault-config.ts";
import { AccessDeniedError, ConflictError, ValidationError } from "../errors.ts";
import { LockState, PointState, type RecoveryPointRecord, type VaultSettings } from "../model.ts";
import type { BackupPolicy } from "../policy/policy.ts";
import { RetentionMode } from "../ports/object-store.ts";
import { type Actor, CriticalOperation, OWNER_ACTOR, requireApproval } from "./approvals.ts";
import { commitAllRetention, guaranteedEnd, pointRetentionEnd } from "./point-retention.ts";
import { policyOf } from "./policies.ts";

/** A point the lock would make undeletable, and until when. */
export interface LockedPoint {
  readonly id: string;
  readonly disk: string;
  readonly until: number;
  readonly bytesStored: number;
}

/** What enabling the lock commits to: points, the latest end, and the storage they hold. */
export interface LockPreview {
  readonly state: LockState;
  readonly points: LockedPoint[];
  readonly until: number | undefined;
  readonly bytesCommitted: number;
}

/**
 * The retention end every available point is guaranteed, while it is ahead (see `guaranteedEnd`
 * in rules/point-retention.ts): what a lock commits to. A point of a disk that left its policy
 * keeps its committed end: stopping protection does not make a point deletable sooner.
 */
export async function retainedPoints(ctx: VaultContext): Promise<LockedPoint[]> {
  const { catalog, clock } = ctx.deps;
  const now = clock.now();
  const byDisk = new Map<string, RecoveryPointRecord[]>();
  for (const p of await catalog.listRecoveryPoints(ctx.config.vaultId)) {
    if (p.state === PointState.Available) byDisk.set(p.disk, [...(byDisk.get(p.disk) ?? []), p]);
  }
  const policies = new Map<string, BackupPolicy | undefined>();
  for (const disk of await catalog.listDisks(ctx.config.vaultId))
    policies.set(disk.name, await policyOf(ctx, disk));
  const out: LockedPoint[] = [];
  for (const [disk, points] of byDisk) {
    for (const p of points) {
      const until = guaranteedEnd(policies.get(disk), points, p, now);
      if (until > now) out.push({ id: p.id, disk, until, bytesStored: p.bytesStored });
    }
  }
  return out.sort((a, b) => a.until - b.until || a.id.localeCompare(b.id));
}

/** Reports, before locking, which points become undeletable and until when. */
export async function lockPreview(ctx: VaultContext): Promise<LockPreview> {
  const settings = await ctx.deps.catalog.getSettings(ctx.config.vaultId);
  const points = await retainedPoints(ctx);
  return {
    state: settings.lock,
    points,
    until: points.at(-1)?.until,
    bytesCommitted: points.reduce((n, p) => n + p.bytesStored, 0),
  };
}

async function writeSettings(
  ctx: VaultContext,
  change: (s: VaultSettings) => VaultSettings,
): Promise<VaultSettings> {
  const current = await ctx.deps.catalog.getSettings(ctx.config.vaultId);
  const next = { ...change(current), version: current.version + 1 };
  await ctx.deps.catalog.putSettings(next, current.version);
  return next;
}

/**
 * Enables the vault lock (from unlocked) or locks it for good (from enabled). While enabled or
 * locked, points cannot be deleted before their retention ends and retention cannot be cut.
 * Locking cannot be undone; unlocking an enabled lock needs a second person's approval.
 */
export async function setLock(
  ctx: VaultContext,
  target: "unlocked" | "enabled" | "locked",
  actor: Actor = OWNER_ACTOR,
): Promise<VaultSettings> {
  if (target === LockState.Unlocked) {
    const current = await ctx.deps.catalog.getSettings(ctx.config.vaultId);
    if (current.lock === LockState.Locked)
      throw new ConflictError("the vault is locked: a lock cannot be undone");
    if (current.lock === LockState.Unlocked) throw new ConflictError("the vault lock is not enabled");
    await requireApproval(ctx, actor.principal, {
      operation: CriticalOperation.DisableLock,
      params: { lock: "unlocked" },
      ...(actor.approvalId ? { approvalId: actor.approvalId } : {}),
    });
    return writeSettings(ctx, (s) => {
      if (s.lock !== LockState.Enabled) throw new ConflictError(`the vault lock is ${s.lock}`);
      return { ...s, lock: LockState.Unlocked };
    });
  }
  return writeSettings(ctx, (s) => {
    if (target === LockState.Enabled && s.lock !== LockState.Unlocked) {
      throw new ConflictError(`the vault lock is already ${s.lock}`);
    }
    if (target === LockState.Locked && s.lock !== LockState.Enabled) {
      throw new ConflictError(
        s.lock === LockState.Locked
          ? "the vault is already locked"
          : "enable the vault lock (and check its preview) before locking it",
      );
    }
    return { ...s, lock: target };
  }).then(async (settings) => {
    // What the lock now guards is committed to the points themselves, so no later change of a
    // disk's policy can take it back.
    await commitAllRetention(ctx, (disk) => policyOf(ctx, disk));
    // Locked for good: what the points need moves to the mode nobody can shorten or lift.
    if (settings.lock === LockState.Locked) await retainAllPoints(ctx, RetentionMode.Compliance);
    return settings;
  });
}

/**
 * Refuses, under a lock, to delete a point whose retention has not ended. Returns whether the
 * point's retention is still running (deleting it early then needs an approval).
 */
export async function checkDeleteAllowed(ctx: VaultContext, point: RecoveryPointRecord): Promise<boolean> {
  const settings = await ctx.deps.catalog.getSettings(ctx.config.vaultId);
  const until = await pointRetentionEnd(ctx, point, (disk) => policyOf(ctx, disk));
  const retained = until > ctx.deps.clock.now();
  if (retained && settings.lock !== LockState.Unlocked) {
    throw new AccessDeniedError(
      `the vault lock (${settings.lock}) forbids deleting recovery point ${point.id} before its retention ends at ${new Date(until).toISOString()}`,
    );
  }
  return retained;
}

/**
 * Changes the soft-delete settings: the period (14 to 180 days) and always-on, which is final.
 * (Disabling soft delete is a critical operation that needs a second person's approval.)
 */
export async function setSoftDelete(
  ctx: VaultContext,
  change: { days?: number; alwaysOn?: boolean; enabled?: boolean },
  actor: Actor = OWNER_ACTOR,
): Promise<VaultSettings> {
  const { days, alwaysOn, enabled } = change;
  if (days !== undefined && (!Number.isInteger(days) || days < 14 || days > 180)) {
    throw new ValidationError(`softDeleteDays must be an integer from 14 to 180, got ${days}`);
  }
  if (alwaysOn === false) throw new ValidationError("always-on soft delete cannot be turned off");
  const current = await ctx.deps.catalog.getSettings(ctx.config.vaultId);
  if (enabled === false && current.softDeleteAlwaysOn) {
    throw new ConflictError("soft delete is always-on in this vault and cannot be disabled");
  }
  // Both shorten how long a deleted point stays recoverable: a lock forbids them, and otherwise
  // they need a second person.
  const shortening = [
    ...(enabled === false && current.softDeleteEnabled ? ["disabling soft delete"] : []),
    ...(days !== undefined && days < current.softDeleteDays
      ? [`cutting the soft-delete period from ${current.softDeleteDays} to ${days} days`]
      : []),
  ];
  if (shortening.length > 0 && current.lock !== LockState.Unlocked) {
    throw new AccessDeniedError(`the vault lock (${current.lock}) forbids ${shortening.join(" and ")}`);
  }
  if (shortening.length > 0) {
    await requireApproval(ctx, actor.principal, {
      operation:
        enabled === false ? CriticalOperation.DisableSoftDelete : CriticalOperation.ShortenSoftDelete,
      params: { enabled, days },
      ...(actor.approvalId ? { approvalId: actor.approvalId } : {}),
    });
  }
  return writeSettings(ctx, (s) => ({
    ...s,
    ...(days !== undefined ? { softDeleteDays: days } : {}),
    ...(enabled !== undefined ? { softDeleteEnabled: enabled } : {}),
    ...(alwaysOn ? { softDeleteAlwaysOn: true, softDeleteEnabled: true } : {}),
  }));
}

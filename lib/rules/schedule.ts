import type { VaultContext } from "../engine/store/vault-config.ts";
import { AccessDeniedError, AlreadyExistsError } from "../errors.ts";
import { type DiskRecord, type JobRecord, JobStatus, JobType, PointState } from "../model.ts";
import { dueSlots } from "../policy/schedule.ts";
import type { SnapshotRequest } from "../ports/queue.ts";
import { expireCopies } from "./copy-retention.ts";
import { commitRetention, expirable } from "./point-retention.ts";
import { getPolicy, policyOf } from "./policies.ts";
import { softDelete } from "./soft-delete.ts";

/** How far back a missed slot is still caught up (one backup, for the latest missed slot). */
export const CATCH_UP_MS = 7 * 24 * 60 * 60 * 1000;

/** The latest slot of the disk's policy due at `now`, if any (never one before protection began). */
export async function latestDueSlot(
  ctx: VaultContext,
  disk: DiskRecord,
  now: number,
): Promise<number | undefined> {
  if (!disk.policy) return undefined;
  const policy = (await getPolicy(ctx, disk.policy)).definition;
  const slot = dueSlots(policy, now - CATCH_UP_MS, now + 1).at(-1);
  return slot !== undefined && slot >= disk.created - 60_000 ? slot : undefined;
}

/** A queued job no worker has taken for this long is sent again: its message was lost. */
export const RESEND_AFTER_MS = 30 * 60 * 1000;

/** The id of the backup job of `disk` for `slot`: the same for every tick that sees the slot. */
export function scheduledJobId(disk: string, slot: number): string {
  return `scheduled-${disk}-${slot}`;
}

/**
 * The scheduler's tick: for each protected disk whose latest due slot has no job, records a
 * queued backup job with a deterministic id, and returns one request per due disk. Creating the
 * job is the conditional write that makes a re-run or an overlapping tick harmless: a later tick
 * finds the job and sends nothing, unless it has stayed queued for {@link RESEND_AFTER_MS} (its
 * message was lost).
 */
export async function planScheduledBackups(ctx: VaultContext, now: number): Promise<SnapshotRequest[]> {
  const { catalog } = ctx.deps;
  const vaultId = ctx.config.vaultId;
  const out: SnapshotRequest[] = [];
  for (const disk of await catalog.listDisks(vaultId)) {
    const slot = await latestDueSlot(ctx, disk, now);
    if (slot === undefined) continue;
    const id = scheduledJobId(disk.name, slot);
    const job: JobRecord = {
      id,
      vaultId,
      type: JobType.Backup,
      status: JobStatus.Queued,
      disk: disk.name,
      started: now,
      bytesScanned: 0,
      bytesChanged: 0,
      bytesStored: 0,
      attempts: 0,
      detail: { slot, source: disk.source },
    };
    try {
      await catalog.createJob(job);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      // Sent before: ask again only if no worker took it for a while (its message was lost).
      const existing = await catalog.getJob(vaultId, id);
      if (existing.status !== JobStatus.Queued || now - existing.started < RESEND_AFTER_MS) continue;
    }
    out.push({ jobId: id, disk: disk.name, slot });
  }
  return out;
}

/**
 * Applies each protected disk's retention: commits the ends that have become final to the
 * points (see rules/point-retention.ts), then soft-deletes the points neither the policy nor
 * their committed end keeps any longer. Returns the ids soft-deleted.
 */
export async function applyRetention(ctx: VaultContext, now: number): Promise<string[]> {
  const expired: string[] = [];
  for (const disk of await ctx.deps.catalog.listDisks(ctx.config.vaultId)) {
    expired.push(...(await expireDisk(ctx, disk, now)));
  }
  return expired;
}

/** Commits to the disk's points the retention ends its policy has made final. */
export async function commitDiskRetention(ctx: VaultContext, disk: DiskRecord): Promise<void> {
  await commitRetention(ctx, disk.name, await policyOf(ctx, disk));
}

/** {@link applyRetention} for one disk. */
export async function expireDisk(ctx: VaultContext, disk: DiskRecord, now: number): Promise<string[]> {
  const policy = await policyOf(ctx, disk);
  if (!policy) return expireCopies(ctx, disk, now);
  await commitRetention(ctx, disk.name, policy);
  const points = (await ctx.deps.catalog.listRecoveryPoints(ctx.config.vaultId, disk.name)).filter(
    (p) => p.state === PointState.Available,
  );
  const expired: string[] = [];
  for (const id of expirable(policy, points, now)) {
    try {
      await softDelete(ctx, id);
      expired.push(id);
    } catch (err) {
      // The lock's own check measures the end to the minute: a point it still holds for a few
      // seconds more is expired by a later tick, and the other points go on now.
      if (!(err instanceof AccessDeniedError)) throw err;
    }
  }
  return expired;
}

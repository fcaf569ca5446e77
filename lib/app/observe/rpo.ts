import type { VaultContext } from "../../engine/store/vault-config.ts";
import { type DiskRecord, PointState, type RecoveryPointRecord } from "../../model.ts";
import type { BackupPolicy } from "../../policy/policy.ts";
import { dueSlots } from "../../policy/schedule.ts";
import { policyOf } from "../../rules/policies.ts";
import { CATCH_UP_MS } from "../../rules/schedule.ts";

/**
 * Minutes after a scheduled slot its backup may still land before the slot counts as missed,
 * when the policy names none (`rpoGraceMinutes`): a backup of a large disk takes a while, and
 * the scheduler ticks every 15 minutes in the cloud.
 */
export const DEFAULT_RPO_GRACE_MINUTES = 60;

/** Where a protected item stands against its policy's recovery point objective. */
export interface RpoStatus {
  readonly disk: string;
  readonly policy?: string;
  /** The latest available point's time (epoch ms), if any. */
  readonly lastGood?: number;
  /** The latest slot due more than the grace ago: a good point at or after it is required. */
  readonly requiredSince?: number;
  /** The grace the policy gives a slot's backup, in minutes. */
  readonly graceMinutes?: number;
  /** False when `requiredSince` has no good point at or after it. */
  readonly compliant: boolean;
}

/** The grace, in ms, a policy gives its slots. */
export function rpoGraceMs(policy: BackupPolicy): number {
  return (policy.rpoGraceMinutes ?? DEFAULT_RPO_GRACE_MINUTES) * 60_000;
}

/** The latest available point of each disk, by disk name. */
export function latestGoodPoints(points: readonly RecoveryPointRecord[]): Map<string, number> {
  const latest = new Map<string, number>();
  for (const p of points) {
    if (p.state !== PointState.Available) continue;
    if ((latest.get(p.disk) ?? -1) < p.created) latest.set(p.disk, p.created);
  }
  return latest;
}

/**
 * A disk's RPO status at `now`: the latest slot of its policy that is due more than the grace
 * ago (never one before the disk was protected) must have a good point taken at or after it.
 * For a regular schedule this is "the last good point is older than the interval plus the
 * grace"; for an irregular one (weekdays only, a cron) it asks exactly what the schedule promised.
 * A disk without a policy has no objective and is compliant.
 */
export async function rpoStatus(
  ctx: VaultContext,
  disk: DiskRecord,
  lastGood: number | undefined,
  now: number,
): Promise<RpoStatus> {
  const base = { disk: disk.name, ...(lastGood !== undefined ? { lastGood } : {}) };
  const policy = await policyOf(ctx, disk);
  if (!policy || !disk.policy) return { ...base, compliant: true };
  const grace = rpoGraceMs(policy);
  const deadline = now - grace;
  const slot = dueSlots(policy, deadline - CATCH_UP_MS, deadline + 1).at(-1);
  const known = { ...base, policy: disk.policy, graceMinutes: grace / 60_000 };
  if (slot === undefined || slot < disk.created - 60_000) return { ...known, compliant: true };
  return {
    ...known,
    requiredSince: slot,
    compliant: lastGood !== undefined && lastGood >= slot,
  };
}

/**
 * Which recovery points a policy keeps, and in which tier. Pure functions of the policy, the
 * points and the time: a changed policy applies to existing points at the next evaluation,
 * because nothing about a point's retention is recorded when it is taken.
 */
import { ValidationError } from "../errors.ts";
import type { RecoveryPointRecord } from "../model.ts";
import { Tier } from "../model.ts";
import { MS_PER_DAY } from "./civil.ts";
import type { BackupPolicy } from "./policy.ts";
import { dayRules } from "./retention-rules.ts";
import { localDay, reachedDay } from "./time-zone.ts";

/** What retention needs of a recovery point. */
export type PolicyPoint = Pick<RecoveryPointRecord, "id" | "created">;

/** Oldest first; ties broken by id, so the order never depends on the input's. */
function byCreatedThenId(a: PolicyPoint, b: PolicyPoint): number {
  return a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function checkInput(points: readonly PolicyPoint[], nowMs: number): void {
  if (!Number.isFinite(nowMs)) {
    throw new ValidationError(`now must be finite epoch milliseconds, got ${nowMs}`);
  }
  const ids = new Set<string>();
  for (const point of points) {
    if (!Number.isFinite(point.created)) {
      throw new ValidationError(`recovery point ${point.id} has no valid creation time: ${point.created}`);
    }
    if (ids.has(point.id)) throw new ValidationError(`recovery point ${point.id} is listed twice`);
    ids.add(point.id);
  }
}

/**
 * The ids of the points `policy` no longer keeps at `nowMs`, oldest first (by `created`, then
 * by id). `points` are the available points of one disk, in any order; ids must be unique.
 *
 * Days are local days in the policy's time zone, and today is the latest local date its clock
 * has shown by `nowMs` (see `reachedDay`); "the latest point of a day" is the one with
 * the greatest `created` (then the greatest id) among all `points` taken on that local day.
 * A point is kept if any of these holds:
 * - `retention.daily`: it is the latest point of one of the last `days` local days, today
 *   included;
 * - `retention.weekly`: it is the latest point of one of the last `weeks` local days that fall
 *   on `day` (today included if it is one); a point taken on another weekday is not a weekly
 *   point;
 * - `retention.monthly`: it is the latest point of `day` (or the last day) of one of the last
 *   `months` months in which that day is today or earlier;
 * - `retention.yearly`: likewise for `day` of `month` in the last `years` years;
 * - it is still in the snapshot tier: younger than `snapshotRetentionDays` days of 24 hours,
 *   or created after `nowMs` (see {@link tierFor}). Instant restore covers every point, not
 *   only a day's latest: that is what makes several backups a day worth taking;
 * - it is the newest of all `points` (a disk always keeps its latest point).
 *
 * Consequences: the result does not depend on the order of `points`; the kept set contains
 * what each rule alone would keep; and once expired at some time a point stays expired at any
 * later time (given the same points), since every rule's days only move forward.
 *
 * @throws ValidationError if `nowMs` or a point's `created` is not finite, or an id repeats.
 */
export function pointsToExpire(
  policy: BackupPolicy,
  points: readonly PolicyPoint[],
  nowMs: number,
): string[] {
  checkInput(points, nowMs);
  const ordered = [...points].sort(byCreatedThenId);
  // Ascending order, so the last point seen for a day is that day's latest.
  const latestOfDay = new Map<number, PolicyPoint>();
  for (const point of ordered) latestOfDay.set(localDay(policy.timeZone, point.created), point);

  const rules = dayRules(policy.retention, reachedDay(policy.timeZone, nowMs));
  const kept = new Set<string>();
  for (const [day, point] of latestOfDay) {
    if (rules.some((rule) => rule(day))) kept.add(point.id);
  }
  const newest = ordered.at(-1);
  if (newest) kept.add(newest.id);
  const snapshotSince = nowMs - policy.snapshotRetentionDays * MS_PER_DAY;
  return ordered
    .filter((point) => point.created <= snapshotSince && !kept.has(point.id))
    .map((point) => point.id);
}

/**
 * The tier `point` belongs in at `nowMs` under `policy`, by its age in days of 24 hours:
 * "snapshot" (instant restore; a copy is in the vault too) while younger than
 * `snapshotRetentionDays`, then "vault", then "archive" once at least `archive.afterDays` old
 * if the policy archives. A point created after `nowMs` is in the snapshot tier. Whether the
 * point is kept at all is {@link pointsToExpire}'s business, not this function's.
 */
export function tierFor(policy: BackupPolicy, point: PolicyPoint, nowMs: number): Tier {
  const age = nowMs - point.created;
  if (age < policy.snapshotRetentionDays * MS_PER_DAY) return Tier.Snapshot;
  if (policy.archive && age >= policy.archive.afterDays * MS_PER_DAY) return Tier.Archive;
  return Tier.Vault;
}

import type { RecoveryPointRecord } from "../model.ts";
import type { BackupPolicy, RetentionRules } from "../policy/policy.ts";
import { dayRules } from "../policy/retention-rules.ts";
import { localDay, reachedDay } from "../policy/time-zone.ts";
import { longestRetentionDays } from "../policy/validate-retention.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
const MINUTE_MS = 60_000;

/**
 * When `point`'s retention under `policy` ends, given the disk's other points: the first moment
 * no rule keeps it and it has left the snapshot tier. Only the latest point of a local day can be
 * kept by a rule; an earlier one is retained by the snapshot tier alone. Rules are monotone (a
 * day once released stays released), so the end is found by bisection to the minute.
 */
export function retentionEnd(
  policy: BackupPolicy,
  points: readonly Pick<RecoveryPointRecord, "id" | "created">[],
  point: Pick<RecoveryPointRecord, "id" | "created">,
): number {
  const snapshotEnd = point.created + policy.snapshotRetentionDays * DAY_MS;
  const day = localDay(policy.timeZone, point.created);
  const sameDay = points.filter((p) => localDay(policy.timeZone, p.created) === day);
  const latest = sameDay.reduce(
    (a, b) => (b.created > a.created || (b.created === a.created && b.id > a.id) ? b : a),
    point,
  );
  if (latest.id !== point.id) return snapshotEnd;
  const keptAt = (t: number) =>
    dayRules(policy.retention, reachedDay(policy.timeZone, t)).some((rule) => rule(day));
  let low = point.created;
  let high = point.created + (longestRetentionDays(policy.retention) + 400) * DAY_MS;
  if (keptAt(high)) return high;
  while (high - low > MINUTE_MS) {
    const mid = low + Math.floor((high - low) / 2);
    if (keptAt(mid)) low = mid;
    else high = mid;
  }
  return Math.max(snapshotEnd, high);
}

/** Names the rules `next` keeps for less long than `current` (a removed rule keeps for zero). */
export function shortenedRules(current: RetentionRules, next: RetentionRules): string[] {
  const spans: [string, number | undefined, number | undefined][] = [
    ["retention.daily.days", current.daily?.days, next.daily?.days],
    ["retention.weekly.weeks", current.weekly?.weeks, next.weekly?.weeks],
    ["retention.monthly.months", current.monthly?.months, next.monthly?.months],
    ["retention.yearly.years", current.yearly?.years, next.yearly?.years],
  ];
  return spans.filter(([, a, b]) => a !== undefined && (b ?? 0) < a).map(([field]) => field);
}

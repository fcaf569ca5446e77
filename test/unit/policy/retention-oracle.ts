import type { BackupPolicy, MonthDay } from "../../../lib/policy/policy.ts";
import type { Point } from "./arbitraries.ts";
import { WEEK_ORDER } from "./arbitraries.ts";
import { clockDate, DAY, reachedDate } from "./clock-oracle.ts";

/** A local date (days since 1970-01-01) as a UTC Date, for its calendar fields. */
const asDate = (date: number) => new Date(date * DAY);

function isMonthDay(date: number, day: MonthDay): boolean {
  const d = asDate(date);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  return d.getUTCDate() === (day === "last" ? last : day);
}

export const byCreatedThenId = (a: Point, b: Point) =>
  a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The latest point of each local date the rules keep, found by walking back from today. */
function keptDates(policy: BackupPolicy, today: number, oldest: number): Set<number> {
  const dates = new Set<number>();
  const collect = (count: number, matches: (date: number) => boolean) => {
    let found = 0;
    for (let date = today; found < count && date >= oldest; date--) {
      if (matches(date)) {
        dates.add(date);
        found++;
      }
    }
  };
  const { daily, weekly, monthly, yearly } = policy.retention;
  if (daily) collect(daily.days, () => true);
  if (weekly) collect(weekly.weeks, (date) => WEEK_ORDER[(asDate(date).getUTCDay() + 6) % 7] === weekly.day);
  if (monthly) collect(monthly.months, (date) => isMonthDay(date, monthly.day));
  if (yearly) {
    collect(
      yearly.years,
      (date) => asDate(date).getUTCMonth() + 1 === yearly.month && isMonthDay(date, yearly.day),
    );
  }
  return dates;
}

/** What `pointsToExpire` documents, computed the slow way. */
export function expectedExpired(policy: BackupPolicy, points: readonly Point[], now: number): string[] {
  const zone = policy.timeZone;
  const ordered = [...points].sort(byCreatedThenId);
  const latest = new Map<number, Point>();
  for (const point of ordered) latest.set(clockDate(zone, point.created), point);
  const oldest = Math.min(...latest.keys());
  const kept = new Set<string>();
  for (const date of keptDates(policy, reachedDate(zone, now), oldest)) {
    const point = latest.get(date);
    if (point) kept.add(point.id);
  }
  const newest = ordered.at(-1);
  if (newest) kept.add(newest.id);
  for (const point of ordered) {
    if (now - point.created < policy.snapshotRetentionDays * DAY) kept.add(point.id);
  }
  return ordered.filter((point) => !kept.has(point.id)).map((point) => point.id);
}

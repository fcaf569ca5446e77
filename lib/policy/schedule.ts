/**
 * When a policy's backups are due. Slots are defined in local wall-clock time (see
 * `time-zone.ts`), by the named schedule or by the cron expression, and only then turned into
 * instants, so a slot keeps its local time across daylight-saving changes, and a change
 * neither skips nor doubles one.
 */
import { ValidationError } from "../errors.ts";
import { MS_PER_DAY, MS_PER_MINUTE, weekdayOf } from "./civil.ts";
import { cronWallTimes } from "./cron.ts";
import type { BackupPolicy, NamedSchedule, Schedule } from "./policy.ts";
import { isCronSchedule, minutesOfTime, WEEKDAYS } from "./policy.ts";
import { instantOf, localDay } from "./time-zone.ts";

/**
 * Minutes after local midnight of each slot of a scheduled day. An hourly window that runs past
 * midnight gives values of 1440 and more: those slots fall on the next date but belong to the
 * day the window opened.
 */
export function slotMinutes(schedule: NamedSchedule): number[] {
  if (schedule.kind !== "hourly") return schedule.times.map(minutesOfTime);
  const start = minutesOfTime(schedule.windowStart);
  const minutes: number[] = [];
  for (let hours = 0; hours < schedule.windowHours; hours += schedule.everyHours) {
    minutes.push(start + hours * 60);
  }
  return minutes;
}

/** Whether the schedule runs on local day number `day`. */
function runsOn(schedule: NamedSchedule, day: number): boolean {
  if (schedule.kind !== "weekly") return true;
  const weekday = WEEKDAYS[weekdayOf(day)];
  return weekday !== undefined && schedule.days.includes(weekday);
}

/** The wall times of a named schedule's slots on local days `firstDay` to `lastDay`. */
function namedWallTimes(schedule: NamedSchedule, firstDay: number, lastDay: number): number[] {
  const minutes = slotMinutes(schedule);
  const times: number[] = [];
  for (let day = firstDay; day <= lastDay; day++) {
    if (!runsOn(schedule, day)) continue;
    for (const minute of minutes) times.push(day * MS_PER_DAY + minute * MS_PER_MINUTE);
  }
  return times;
}

/**
 * The wall times of the schedule's slots that belong to local days `firstDay` to `lastDay`
 * (for a cron expression: its runs on those dates; for an hourly window past midnight: some
 * on the day after).
 */
export function slotWallTimes(schedule: Schedule, firstDay: number, lastDay: number): number[] {
  if (!isCronSchedule(schedule)) return namedWallTimes(schedule, firstDay, lastDay);
  return cronWallTimes(schedule.cron, firstDay * MS_PER_DAY, (lastDay + 1) * MS_PER_DAY);
}

/**
 * Every slot of `policy`'s schedule in the half-open range [`fromMs`, `toMs`), as epoch
 * milliseconds, ascending, without duplicates. Pure: it depends on its arguments only.
 *
 * A slot is a local date the schedule runs on plus a local time (for hourly schedules,
 * `windowStart + k * everyHours` within the window; for cron schedules, every local date and
 * time the expression matches, as croner reads it with no zone). It runs at the first instant
 * the zone's clock reads that date and time or later:
 * - a time that does not exist (clocks spring forward over it) runs once, at the end of the
 *   gap: Europe/Berlin 2026-03-29 02:30 runs at 03:00 CEST (01:00 UTC);
 * - a time that happens twice (clocks fall back) runs once, at its first occurrence:
 *   Europe/Berlin 2026-10-25 02:30 runs at 02:30 CEST (00:30 UTC), not again at 02:30 CET.
 *
 * Two slots of one day that land on the same instant (02:30 and 03:00 on that spring-forward
 * day) are one slot. Cron schedules follow the same rules, so `30 * * * *` runs at 03:00 and
 * 03:30 CEST on that spring day and once, not twice, in the repeated hour of the autumn one.
 * Because each slot is one instant whatever the range, splitting a range in two splits the
 * result in two: `dueSlots(p, a, c)` is `dueSlots(p, a, b)` then
 * `dueSlots(p, b, c)` for every b between a and c.
 *
 * @throws ValidationError if a bound is not a finite number.
 */
export function dueSlots(policy: BackupPolicy, fromMs: number, toMs: number): number[] {
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) {
    throw new ValidationError(`dueSlots needs finite epoch milliseconds, got ${fromMs} and ${toMs}`);
  }
  if (toMs <= fromMs) return [];
  const { schedule, timeZone } = policy;
  // A slot runs on its own local date or, for a window past midnight, the next one; and a
  // clock going back can make the date of an instant in range one less than that of `fromMs`.
  // Two days of margin each side cover both, and the range test below decides.
  const firstDay = localDay(timeZone, fromMs) - 2;
  const lastDay = localDay(timeZone, toMs) + 1;
  const slots = new Set<number>();
  for (const wall of slotWallTimes(schedule, firstDay, lastDay)) {
    const instant = instantOf(timeZone, wall);
    if (instant >= fromMs && instant < toMs) slots.add(instant);
  }
  return [...slots].sort((a, b) => a - b);
}

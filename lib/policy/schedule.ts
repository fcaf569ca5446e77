/**
 * When a policy's backups are due. Slots are defined in local wall-clock time (see
 * `time-zone.ts`) and only then turned into instants, so a slot keeps its local time across
 * daylight-saving changes, and a change neither skips nor doubles one.
 */
import { ValidationError } from "../errors.ts";
import { MS_PER_DAY, MS_PER_MINUTE, weekdayOf } from "./civil.ts";
import type { BackupPolicy, Schedule } from "./policy.ts";
import { minutesOfTime, WEEKDAYS } from "./policy.ts";
import { instantOf, localDay } from "./time-zone.ts";

/**
 * Minutes after local midnight of each slot of a scheduled day. An hourly window that runs past
 * midnight gives values of 1440 and more: those slots fall on the next date but belong to the
 * day the window opened.
 */
export function slotMinutes(schedule: Schedule): number[] {
  if (schedule.kind !== "hourly") return schedule.times.map(minutesOfTime);
  const start = minutesOfTime(schedule.windowStart);
  const minutes: number[] = [];
  for (let hours = 0; hours < schedule.windowHours; hours += schedule.everyHours) {
    minutes.push(start + hours * 60);
  }
  return minutes;
}

/** Whether the schedule runs on local day number `day`. */
function runsOn(schedule: Schedule, day: number): boolean {
  if (schedule.kind !== "weekly") return true;
  const weekday = WEEKDAYS[weekdayOf(day)];
  return weekday !== undefined && schedule.days.includes(weekday);
}

/**
 * Every slot of `policy`'s schedule in the half-open range [`fromMs`, `toMs`), as epoch
 * milliseconds, ascending, without duplicates. Pure: it depends on its arguments only.
 *
 * A slot is a local date the schedule runs on plus a local time (for hourly schedules,
 * `windowStart + k * everyHours` within the window). It runs at the first instant the zone's
 * clock reads that date and time or later:
 * - a time that does not exist (clocks spring forward over it) runs once, at the end of the
 *   gap: Europe/Berlin 2026-03-29 02:30 runs at 03:00 CEST (01:00 UTC);
 * - a time that happens twice (clocks fall back) runs once, at its first occurrence:
 *   Europe/Berlin 2026-10-25 02:30 runs at 02:30 CEST (00:30 UTC), not again at 02:30 CET.
 *
 * Two slots of one day that land on the same instant (02:30 and 03:00 on that spring-forward
 * day) are one slot. Because each slot is one instant whatever the range, splitting a range in
 * two splits the result in two: `dueSlots(p, a, c)` is `dueSlots(p, a, b)` then
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
  const minutes = slotMinutes(schedule);
  // A slot runs on its own local date or, for a window past midnight, the next one; and a
  // clock going back can make the date of an instant in range one less than that of `fromMs`.
  // Two days of margin each side cover both, and the range test below decides.
  const firstDay = localDay(timeZone, fromMs) - 2;
  const lastDay = localDay(timeZone, toMs) + 1;
  const slots = new Set<number>();
  for (let day = firstDay; day <= lastDay; day++) {
    if (!runsOn(schedule, day)) continue;
    for (const minute of minutes) {
      const instant = instantOf(timeZone, day * MS_PER_DAY + minute * MS_PER_MINUTE);
      if (instant >= fromMs && instant < toMs) slots.add(instant);
    }
  }
  return [...slots].sort((a, b) => a - b);
}

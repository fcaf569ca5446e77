import type { BackupPolicy, NamedSchedule } from "../../../lib/policy/policy.ts";
import { WEEK_ORDER } from "./arbitraries.ts";
import { DAY, firstReading, MINUTE, readClock } from "./clock-oracle.ts";

/** Minutes after midnight of "HH:MM". */
export const toMinutes = (time: string) => Number(time.slice(0, 2)) * 60 + Number(time.slice(3));

/** The weekday of a local date (days since 1970-01-01). */
export const weekdayOfDate = (date: number) => WEEK_ORDER[(new Date(date * DAY).getUTCDay() + 6) % 7]!;

/** Minutes after midnight of each slot of a day, worked out afresh from the schedule. */
function minutesOf(schedule: NamedSchedule): number[] {
  if (schedule.kind !== "hourly") return schedule.times.map(toMinutes);
  const count = Math.ceil(schedule.windowHours / schedule.everyHours);
  return Array.from(
    { length: count },
    (_, k) => toMinutes(schedule.windowStart) + k * schedule.everyHours * 60,
  );
}

/** Every (local date, slot) of a named schedule resolved by brute force, keeping those in [from, to). */
export function expectedSlots(policy: BackupPolicy, from: number, to: number): number[] {
  const { timeZone } = policy;
  const schedule = policy.schedule as NamedSchedule;
  const slots = new Set<number>();
  const first = Math.floor(readClock(timeZone, from) / DAY) - 3;
  const last = Math.floor(readClock(timeZone, to) / DAY) + 2;
  for (let date = first; date <= last; date++) {
    if (schedule.kind === "weekly" && !schedule.days.includes(weekdayOfDate(date))) continue;
    for (const minute of minutesOf(schedule)) {
      const at = firstReading(timeZone, date * DAY + minute * MINUTE);
      if (at >= from && at < to) slots.add(at);
    }
  }
  return [...slots].sort((a, b) => a - b);
}

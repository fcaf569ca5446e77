/**
 * Calendar arithmetic on local (civil) dates, independent of any time zone. A date is a "day
 * number": whole days since 1970-01-01 in the proleptic Gregorian calendar, so consecutive
 * dates are consecutive integers and weekdays repeat every 7.
 */

/** Milliseconds in a day of 24 hours. */
export const MS_PER_DAY = 86_400_000;

/** Milliseconds in a minute. */
export const MS_PER_MINUTE = 60_000;

/** A calendar date: `month` 1 to 12, `day` 1 to 31. */
export interface CivilDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** A UTC Date for the given fields; `setUTCFullYear` so years 0 to 99 are not read as 19xx. */
function utcDate(year: number, month: number, day: number): Date {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date;
}

/** The day number of a date (out-of-range months and days roll over, as in `Date.UTC`). */
export function dayNumber(year: number, month: number, day: number): number {
  return Math.round(utcDate(year, month, day).getTime() / MS_PER_DAY);
}

/** The date of a day number. */
export function civilDate(day: number): CivilDate {
  const date = new Date(day * MS_PER_DAY);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

/** Weekday of a day number, 0 (Sunday) to 6 (Saturday); day 0 was a Thursday. */
export function weekdayOf(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

/** Days in `month` (1 to 12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one.
  return utcDate(year, month + 1, 0).getUTCDate();
}

/** Months since year 0 of a date, so consecutive months are consecutive integers. */
export function monthIndex(date: CivilDate): number {
  return date.year * 12 + date.month - 1;
}

/**
 * Wall-clock time in an IANA time zone, on the built-in `Intl` API only. A "wall time" is the
 * reading of a clock in the zone, encoded as the epoch milliseconds the same reading has in
 * UTC: wall time 2026-03-29 02:30 is `Date.UTC(2026, 2, 29, 2, 30)` whatever the zone. That
 * makes local dates and times plain arithmetic (see `civil.ts`) and leaves `Intl` to answer one
 * question: what does the clock read at this instant.
 */
import { MS_PER_DAY } from "./civil.ts";

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A cached formatter for the zone (building one costs far more than using it). */
function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/**
 * The zone's name if `Intl` knows it as an IANA zone, with its case corrected where that does
 * not also rename it ("europe/berlin" becomes "Europe/Berlin"; "Asia/Kolkata" stays, although
 * ICU calls it "Asia/Calcutta"); undefined otherwise. Fixed offsets such as "+05:30" are not
 * IANA zone names and are refused.
 */
export function ianaTimeZone(name: string): string | undefined {
  if (!/^[A-Za-z]/.test(name)) return undefined;
  try {
    const resolved = new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
    return resolved.toLowerCase() === name.toLowerCase() ? resolved : name;
  } catch {
    return undefined;
  }
}

/**
 * Readings already made, by zone and whole second. Schedules ask about the same instants over
 * and over (a slot's neighbours a day either side, every disk under one policy, every tick),
 * and a reading costs microseconds of `Intl` where a lookup costs nanoseconds. Bounded: the map
 * starts afresh once full.
 */
const READINGS_LIMIT = 20_000;
const readings = new Map<string, number>();

/** The wall time of whole second `whole` in the zone, read through `Intl`. */
function readClock(timeZone: string, whole: number): number {
  const field: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(whole)) field[part.type] = part.value;
  const year = field.era === "BC" ? 1 - Number(field.year) : Number(field.year);
  const date = new Date(0);
  date.setUTCFullYear(year, Number(field.month) - 1, Number(field.day));
  date.setUTCHours(Number(field.hour), Number(field.minute), Number(field.second), 0);
  return date.getTime();
}

/** The wall time (see the module comment) at instant `ms` in the zone. */
export function wallTime(timeZone: string, ms: number): number {
  // Intl reads whole seconds; the milliseconds carry over unchanged (offsets are whole seconds).
  const whole = Math.floor(ms / 1000) * 1000;
  const key = `${timeZone} ${whole}`;
  let wall = readings.get(key);
  if (wall === undefined) {
    wall = readClock(timeZone, whole);
    if (readings.size >= READINGS_LIMIT) readings.clear();
    readings.set(key, wall);
  }
  return wall + (ms - whole);
}

/** The zone's offset from UTC at instant `ms`, in milliseconds (positive east of Greenwich). */
export function offsetAt(timeZone: string, ms: number): number {
  return wallTime(timeZone, ms) - ms;
}

/** The local day number (see `civil.ts`) of instant `ms` in the zone. */
export function localDay(timeZone: string, ms: number): number {
  return Math.floor(wallTime(timeZone, ms) / MS_PER_DAY);
}

/**
 * The latest local day number the zone's clock has shown at or before instant `ms`. It is
 * {@link localDay} except just after clocks go back over midnight (America/St_Johns did so
 * until 2011: 00:01 back to 23:01 the day before), where it stays on the day already begun, so
 * that it never decreases as time passes.
 */
export function reachedDay(timeZone: string, ms: number): number {
  const day = localDay(timeZone, ms);
  const dayBefore = ms - MS_PER_DAY;
  const offsetThen = offsetAt(timeZone, dayBefore);
  if (offsetThen <= offsetAt(timeZone, ms)) return day;
  // The clock went back within the last day: find the last whole second before it did.
  let earlier = Math.floor(dayBefore / 1000) * 1000;
  let later = ms;
  while (later - earlier > 1000) {
    const middle = earlier + Math.floor((later - earlier) / 2000) * 1000;
    if (offsetAt(timeZone, middle) === offsetThen) earlier = middle;
    else later = middle;
  }
  return Math.max(day, localDay(timeZone, earlier));
}

/**
 * The instant a clock in the zone reads `wall` (a wall time, see the module comment): the
 * first instant whose reading is `wall` or later. So an ambiguous reading (clocks going back)
 * gives its first occurrence, and a reading that never happens (clocks jumping forward over
 * it) gives the first instant after the gap, the moment of the jump. Assumes at most one
 * offset change within a day either side, which holds for every real zone.
 */
export function instantOf(timeZone: string, wall: number): number {
  const before = offsetAt(timeZone, wall - MS_PER_DAY);
  const after = offsetAt(timeZone, wall + MS_PER_DAY);
  const high = Math.max(before, after);
  const low = Math.min(before, after);
  // The larger offset gives the earlier instant, so trying it first picks the first occurrence.
  if (offsetAt(timeZone, wall - high) === high) return wall - high;
  if (offsetAt(timeZone, wall - low) === low) return wall - low;
  // In a gap: the clock reads less than `wall` at `wall - high` and more at `wall - low`.
  // Bisect whole seconds (offsets and their changes are whole seconds) for the jump.
  let earlier = wall - high;
  let later = wall - low;
  while (later - earlier > 1000) {
    const middle = earlier + Math.floor((later - earlier) / 2000) * 1000;
    if (wallTime(timeZone, middle) >= wall) later = middle;
    else earlier = middle;
  }
  return later;
}

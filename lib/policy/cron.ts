/**
 * Cron expressions, parsed and matched by croner. The vault asks croner about wall times only
 * (see `time-zone.ts`): croner reads the expression against a clock at UTC+0, where a wall time
 * and its instant are the same number, and `schedule.ts` turns each wall time into an instant
 * in the policy's zone exactly as it does for named schedules. So cron and named schedules
 * follow one rule through daylight-saving changes, whatever croner's own zone handling does.
 */
import { Cron } from "croner";
import { MS_PER_DAY } from "./civil.ts";

/** Parsed expressions kept; parsing costs far more than matching. Bounded, as input is untrusted. */
const CACHE_LIMIT = 256;
const patterns = new Map<string, Cron>();

/**
 * The croner pattern of `expression`, 5 fields only (seconds and years are refused).
 *
 * @throws Error (croner's, unwrapped) if croner does not accept the expression.
 */
export function cronPattern(expression: string): Cron {
  let pattern = patterns.get(expression);
  if (pattern === undefined) {
    // A fixed offset rather than the zone "UTC": the same wall times, without Intl's cost.
    pattern = new Cron(expression, { mode: "5-part", utcOffset: 0, paused: true });
    if (patterns.size >= CACHE_LIMIT) patterns.delete(patterns.keys().next().value as string);
    patterns.set(expression, pattern);
  }
  return pattern;
}

/** The first wall time after `afterWall` (exclusive) at which `expression` runs, if it ever does. */
export function nextCronWallTime(expression: string, afterWall: number): number | undefined {
  return cronPattern(expression).nextRun(new Date(afterWall))?.getTime();
}

/** Every wall time in [`fromWall`, `toWall`) at which `expression` runs, ascending. */
export function cronWallTimes(expression: string, fromWall: number, toWall: number): number[] {
  const times: number[] = [];
  // croner's next run is strictly after the date it is given, hence the millisecond before.
  let next = nextCronWallTime(expression, fromWall - 1);
  while (next !== undefined && next < toWall) {
    times.push(next);
    next = nextCronWallTime(expression, next);
  }
  return times;
}

/**
 * Whether `expression` runs at some time of local day number `day`. The minute and hour
 * fields do not depend on the date, so a day is a run day exactly when the expression matches
 * that day at the time of day of any one of its runs.
 */
export function cronRunsOn(expression: string, day: number, runTimeOfDay: number): boolean {
  return cronPattern(expression).match(new Date(day * MS_PER_DAY + runTimeOfDay));
}

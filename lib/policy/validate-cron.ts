/**
 * Checks of a cron schedule and of the retention rules that depend on it. croner decides what
 * a valid expression is; these checks add the vault's own limits (5 fields, at most one run an
 * hour) and refuse retention rules the expression could never feed.
 */
import { ValidationError } from "../errors.ts";
import { civilDate, dayNumber, daysInMonth, MS_PER_DAY, MS_PER_MINUTE, weekdayOf } from "./civil.ts";
import { cronRunsOn, nextCronWallTime } from "./cron.ts";
import type { CronSchedule, MonthDay, RetentionRules } from "./policy.ts";
import { POLICY_LIMITS, WEEKDAYS } from "./policy.ts";
import { describe, invalid } from "./validate-fields.ts";

const FIELD = "schedule.cron";
const EXAMPLE = '"0 2 * * 1-5" (02:00 Monday to Friday)';

/**
 * The days the retention checks look at: 28 years, after which weekdays and dates repeat
 * (between 1901 and 2099, where every fourth year is a leap year), so a combination of weekday,
 * day of month and month the expression never matches in them it never matches at all.
 */
const FIRST_DAY = dayNumber(2001, 1, 1);
const LAST_DAY = dayNumber(2029, 1, 1) - 1;

/** The expression with its whitespace collapsed, or a refusal naming the field. */
function normalized(value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") {
    invalid(`${FIELD} must be a cron expression such as ${EXAMPLE}, got ${describe(value)}`);
  }
  // The length as given, as the API schema measures it.
  if (value.length > POLICY_LIMITS.cronMaxLength) {
    invalid(`${FIELD} must be at most ${POLICY_LIMITS.cronMaxLength} characters, got ${value.length}`);
  }
  const expression = value.trim().split(/\s+/).join(" ");
  const fields = expression.split(" ").length;
  // Nicknames ("@daily") are one field; croner knows them.
  if (!expression.startsWith("@") && fields !== 5) {
    invalid(
      `${FIELD} ${JSON.stringify(expression)} must have 5 fields (minute hour day-of-month month ` +
        `day-of-week), got ${fields}; seconds and years are not supported`,
    );
  }
  return expression;
}

/**
 * What each field allows, for croner's "Invalid value for <field>" refusals: croner counts some
 * fields from 0 internally and quotes the shifted number ("month: 12" for a 13).
 */
const FIELD_RANGES: Readonly<Record<string, string>> = {
  minute: "the minute must be 0 to 59",
  hour: "the hour must be 0 to 23",
  day: "the day of the month must be 1 to 31",
  month: "the month must be 1 to 12 or JAN to DEC",
  dayOfWeek: "the day of the week must be 0 to 7 (0 and 7 are Sunday) or SUN to SAT",
};

/** croner's reason for refusing an expression, in the vault's words where croner's mislead. */
function refusalReason(cause: unknown): string {
  const text = (cause as Error).message.replace(/^CronPattern: /, "");
  const field = /^Invalid value for (\w+):/.exec(text)?.[1];
  return (field !== undefined && FIELD_RANGES[field]) || text;
}

/** The first wall time the expression runs at (from 2001), throwing croner's refusal as ours. */
function firstRun(expression: string): number | undefined {
  try {
    return nextCronWallTime(expression, FIRST_DAY * MS_PER_DAY - 1);
  } catch (cause) {
    const reason = refusalReason(cause);
    const message = `${FIELD} ${JSON.stringify(expression)} is not a valid cron expression: ${reason}`;
    throw new ValidationError(message, { cause });
  }
}

/**
 * The cron schedule `value` describes: a 5-field expression croner accepts, that runs at all,
 * and at most once an hour. Every run of such an expression is on one minute of its hours (the
 * minute field has one value), so from the first run of an hour the next is an hour or more
 * away, and the first two runs tell.
 */
export function cronSchedule(value: unknown): CronSchedule {
  const expression = normalized(value);
  const first = firstRun(expression);
  if (first === undefined) invalid(`${FIELD} ${JSON.stringify(expression)} never runs`);
  const second = nextCronWallTime(expression, first);
  const gap = POLICY_LIMITS.cronMinGapMinutes;
  if (second !== undefined && second - first < gap * MS_PER_MINUTE) {
    invalid(
      `${FIELD} ${JSON.stringify(expression)} runs more than once an hour; ` +
        `give the minute field one value, e.g. "15 */4 * * *"`,
    );
  }
  return { cron: expression };
}

/** Whether the expression runs on any day from {@link FIRST_DAY} to {@link LAST_DAY} `matches`. */
function runsOnSome(expression: string, matches: (day: number) => boolean): boolean {
  const timeOfDay = (nextCronWallTime(expression, FIRST_DAY * MS_PER_DAY - 1) ?? 0) % MS_PER_DAY;
  for (let day = FIRST_DAY; day <= LAST_DAY; day++) {
    if (matches(day) && cronRunsOn(expression, day, timeOfDay)) return true;
  }
  return false;
}

/** Whether local day number `day` is `monthDay` of its month. */
function isMonthDay(day: number, monthDay: MonthDay): boolean {
  const date = civilDate(day);
  return date.day === (monthDay === "last" ? daysInMonth(date.year, date.month) : monthDay);
}

/**
 * The retention rules checked against a cron schedule. Every rule keeps the latest point of
 * its target days, so it must name days the expression runs on, or it would keep nothing:
 * `weekly.day` a weekday it runs on, `monthly.day` a day of the month it runs on, `yearly` a
 * date it runs on. Some rule is required (without one, only the snapshot tier and the newest
 * point would be kept). `daily` fits any expression: it keeps the last point of each day that
 * has one.
 */
export function validateCronRetention(retention: RetentionRules, schedule: CronSchedule): RetentionRules {
  const { daily, weekly, monthly, yearly } = retention;
  if (!daily && !weekly && !monthly && !yearly) {
    invalid("retention needs at least one of daily, weekly, monthly or yearly with cron schedules");
  }
  const expression = schedule.cron;
  const never = (path: string, got: string) =>
    invalid(
      `${path} must be a day ${FIELD} ${JSON.stringify(expression)} runs on (else the rule keeps ` +
        `nothing), got ${got}`,
    );
  if (weekly && !runsOnSome(expression, (day) => WEEKDAYS[weekdayOf(day)] === weekly.day)) {
    never("retention.weekly.day", describe(weekly.day));
  }
  if (monthly && !runsOnSome(expression, (day) => isMonthDay(day, monthly.day))) {
    never("retention.monthly.day", describe(monthly.day));
  }
  if (yearly) {
    const inMonth = (day: number) => civilDate(day).month === yearly.month;
    if (!runsOnSome(expression, (day) => inMonth(day) && isMonthDay(day, yearly.day))) {
      never("retention.yearly.day", `${describe(yearly.day)} of month ${yearly.month}`);
    }
  }
  return retention;
}

/**
 * Checks of the retention and archive parts of a policy, including the rules that depend on
 * the schedule (which Azure Backup applies too: a weekly schedule has weekly retention).
 */
import type { RetentionRules, Schedule } from "./policy.ts";
import { isCronSchedule, POLICY_LIMITS, WEEKDAYS } from "./policy.ts";
import { validateCronRetention } from "./validate-cron.ts";
import { describe, integer, invalid, monthDay, object, oneOf, quoteAll } from "./validate-fields.ts";

const MONTHS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] as const;

/** Fields of a rule, or undefined if the rule is not set. */
function rule(path: string, value: unknown, known: readonly string[]) {
  return value === undefined ? undefined : object(path, value, known);
}

/** The rules as given, each checked on its own. */
function rules(value: unknown): RetentionRules {
  const fields = object("retention", value, ["daily", "weekly", "monthly", "yearly"]);
  const L = POLICY_LIMITS;
  const daily = rule("retention.daily", fields.daily, ["days"]);
  const weekly = rule("retention.weekly", fields.weekly, ["weeks", "day"]);
  const monthly = rule("retention.monthly", fields.monthly, ["months", "day"]);
  const yearly = rule("retention.yearly", fields.yearly, ["years", "month", "day"]);
  return {
    ...(daily && {
      daily: { days: integer("retention.daily.days", daily.days, L.dailyDays.min, L.dailyDays.max) },
    }),
    ...(weekly && {
      weekly: {
        weeks: integer("retention.weekly.weeks", weekly.weeks, L.weeklyWeeks.min, L.weeklyWeeks.max),
        day: oneOf("retention.weekly.day", weekly.day, WEEKDAYS),
      },
    }),
    ...(monthly && {
      monthly: {
        months: integer("retention.monthly.months", monthly.months, L.monthlyMonths.min, L.monthlyMonths.max),
        day: monthDay("retention.monthly.day", monthly.day),
      },
    }),
    ...(yearly && {
      yearly: {
        years: integer("retention.yearly.years", yearly.years, L.yearlyYears.min, L.yearlyYears.max),
        month: oneOf("retention.yearly.month", yearly.month, MONTHS),
        day: monthDay("retention.yearly.day", yearly.day),
      },
    }),
  };
}

/**
 * The retention rules, checked alone and against the schedule. A daily or hourly schedule
 * requires `daily`. A weekly schedule takes at most one point a day on some weekdays, so, as in
 * Azure Backup, it has no `daily` rule and requires `weekly`, whose day must be a scheduled
 * day (else it would keep nothing); and since only day-of-month `monthly` and `yearly` rules
 * exist here (Azure offers "first Sunday"-style ones for weekly schedules), those would keep a
 * point only when the date happens to fall on a scheduled day, so they are refused too. A
 * cron schedule allows every rule that can keep something (see `validateCronRetention`).
 */
export function validateRetention(value: unknown, schedule: Schedule): RetentionRules {
  const retention = rules(value);
  if (isCronSchedule(schedule)) return validateCronRetention(retention, schedule);
  if (schedule.kind !== "weekly") {
    if (!retention.daily) invalid(`retention.daily is required with ${schedule.kind} schedules`);
    return retention;
  }
  for (const key of ["daily", "monthly", "yearly"] as const) {
    if (retention[key]) {
      invalid(
        `retention.${key} is not allowed with weekly schedules; keep weekly points with retention.weekly`,
      );
    }
  }
  if (!retention.weekly) invalid("retention.weekly is required with weekly schedules");
  if (!schedule.days.includes(retention.weekly.day)) {
    invalid(
      `retention.weekly.day must be one of the scheduled days ${quoteAll(schedule.days)}, ` +
        `got ${describe(retention.weekly.day)}`,
    );
  }
  return retention;
}

/**
 * About how many days the longest rule can keep a point: months count 30 days, years 365. Only
 * used to refuse an archive tier no point could ever reach.
 */
export function longestRetentionDays(retention: RetentionRules): number {
  return Math.max(
    retention.daily?.days ?? 0,
    (retention.weekly?.weeks ?? 0) * 7,
    (retention.monthly?.months ?? 0) * 30,
    (retention.yearly?.years ?? 0) * 365,
  );
}

/** The archive setting: `afterDays` from 90 to 3650 and below the longest retention. */
export function validateArchive(value: unknown, retention: RetentionRules): { afterDays: number } {
  const fields = object("archive", value, ["afterDays"]);
  const { min, max } = POLICY_LIMITS.archiveAfterDays;
  const longest = longestRetentionDays(retention);
  if (longest <= min) {
    invalid(
      `archive needs a retention longer than ${min} days for a point to reach it; the longest is ${longest}`,
    );
  }
  const limit = Math.min(max, longest - 1);
  const note = limit < max ? `below the longest retention, ${longest} days` : undefined;
  return { afterDays: integer("archive.afterDays", fields.afterDays, min, limit, note) };
}

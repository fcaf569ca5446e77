/**
 * Turns untrusted input (a request body, a config file) into a {@link BackupPolicy}, or refuses
 * it with a message naming the first offending field and what it allows.
 */
import type { BackupPolicy, Schedule, Weekday } from "./policy.ts";
import { HOURLY_INTERVALS, minutesOfTime, POLICY_LIMITS, ScheduleKind, WEEKDAYS } from "./policy.ts";
import { ianaTimeZone } from "./time-zone.ts";
import { validateCopyRules } from "./validate-copy.ts";
import { cronSchedule } from "./validate-cron.ts";
import {
  deepFreeze,
  describe,
  distinctList,
  integer,
  invalid,
  object,
  oneOf,
  time,
} from "./validate-fields.ts";
import { validateRestoreDrill, validateRpoGrace, validateVerification } from "./validate-observe.ts";
import { validateArchive, validateRetention } from "./validate-retention.ts";

/** Weekdays Monday first, the order a validated weekly schedule lists its days in. */
const WEEK_ORDER: readonly Weekday[] = [...WEEKDAYS.slice(1), WEEKDAYS[0]];

const POLICY_FIELDS = [
  "name",
  "timeZone",
  "schedule",
  "retention",
  "snapshotRetentionDays",
  "archive",
  "copyTo",
  "rpoGraceMinutes",
  "verification",
  "restoreDrill",
];

const byMinutes = (a: string, b: string) => minutesOfTime(a) - minutesOfTime(b);

function policyName(value: unknown): string {
  const max = POLICY_LIMITS.nameMaxLength;
  if (typeof value !== "string" || value.length > max || !/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/.test(value)) {
    invalid(
      `name must be 1 to ${max} letters, digits, spaces, "-", "_" or ".", starting with a letter or ` +
        `digit, got ${describe(value)}`,
    );
  }
  return value;
}

function timeZone(value: unknown): string {
  const zone = typeof value === "string" ? ianaTimeZone(value) : undefined;
  if (zone === undefined) {
    invalid(`timeZone must be an IANA time zone name such as "Europe/Berlin", got ${describe(value)}`);
  }
  return zone;
}

/** The 1 to 6 distinct local times of a daily or weekly schedule, sorted. */
function times(value: unknown): string[] {
  return distinctList("schedule.times", value, POLICY_LIMITS.timesPerDay, "times", time).sort(byMinutes);
}

function schedule(value: unknown): Schedule {
  // Which fields are known depends on the kind, so read the kind (or the cron field) first.
  const any = object("schedule", value, [
    "cron",
    "kind",
    "everyHours",
    "windowStart",
    "windowHours",
    "days",
    "times",
  ]);
  if (any.cron !== undefined) return cronSchedule(object("schedule", value, ["cron"]).cron);
  const kind = oneOf("schedule.kind", any.kind, Object.values(ScheduleKind));
  if (kind === "hourly") {
    const fields = object("schedule", value, ["kind", "everyHours", "windowStart", "windowHours"]);
    const { min, max } = POLICY_LIMITS.windowHours;
    return {
      kind,
      everyHours: oneOf("schedule.everyHours", fields.everyHours, HOURLY_INTERVALS),
      windowStart: time("schedule.windowStart", fields.windowStart),
      windowHours: integer("schedule.windowHours", fields.windowHours, min, max),
    };
  }
  if (kind === "daily") return { kind, times: times(object("schedule", value, ["kind", "times"]).times) };
  const fields = object("schedule", value, ["kind", "days", "times"]);
  const days = distinctList("schedule.days", fields.days, { min: 1, max: 7 }, "days", (path, day) =>
    oneOf(path, day, WEEK_ORDER),
  );
  return { kind, days: WEEK_ORDER.filter((day) => days.includes(day)), times: times(fields.times) };
}

/**
 * The policy `input` describes, checked and normalized: times sorted, weekly days sorted Monday
 * first, a cron expression's whitespace collapsed, the time zone's case corrected, no field
 * but the known ones, everything frozen. A schedule is a named one (`kind`) or `{ cron }`. The
 * allowed values are documented on {@link BackupPolicy} and `POLICY_LIMITS`; beyond each
 * field's range:
 * - the schedule decides which retention rules are required or refused (see
 *   `validateRetention`: daily and hourly schedules need `retention.daily`; weekly schedules
 *   need `retention.weekly` on a scheduled day and allow no other rule; cron schedules need
 *   some rule, each on a day the expression runs on);
 * - `archive.afterDays` must be below the longest retention (months counted as 30 days, years
 *   as 365), so that some point can reach the archive tier.
 *
 * @throws ValidationError naming the first invalid field, its allowed values and what it got,
 *   e.g. `retention.weekly.weeks must be an integer from 1 to 5163, got 0`.
 */
export function validatePolicy(input: unknown): BackupPolicy {
  const fields = object("", input, POLICY_FIELDS);
  // Checked in the order the fields are listed, so the first invalid one is reported.
  const name = policyName(fields.name);
  const zone = timeZone(fields.timeZone);
  const checkedSchedule = schedule(fields.schedule);
  const retention = validateRetention(fields.retention, checkedSchedule);
  const { min, max } = POLICY_LIMITS.snapshotRetentionDays;
  const policy: BackupPolicy = {
    name,
    schedule: checkedSchedule,
    timeZone: zone,
    retention,
    snapshotRetentionDays: integer("snapshotRetentionDays", fields.snapshotRetentionDays, min, max),
    ...(fields.archive !== undefined && { archive: validateArchive(fields.archive, retention) }),
    ...(fields.copyTo !== undefined && { copyTo: validateCopyRules(fields.copyTo) }),
    ...(fields.rpoGraceMinutes !== undefined && {
      rpoGraceMinutes: validateRpoGrace(fields.rpoGraceMinutes),
    }),
    ...(fields.verification !== undefined && { verification: validateVerification(fields.verification) }),
    ...(fields.restoreDrill !== undefined && { restoreDrill: validateRestoreDrill(fields.restoreDrill) }),
  };
  return deepFreeze(policy);
}

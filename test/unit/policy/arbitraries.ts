import fc from "fast-check";
import type {
  BackupPolicy,
  DailySchedule,
  HourlySchedule,
  NamedSchedule,
  RetentionRules,
  Schedule,
  Weekday,
  WeeklySchedule,
} from "../../../lib/policy/policy.ts";
import { WEEKDAYS } from "../../../lib/policy/policy.ts";
import { DAY } from "./clock-oracle.ts";

/**
 * Zones with northern DST (Berlin, New York), southern DST (Sydney), none and a half-hour
 * offset (Kolkata), and a half-hour offset whose clocks changed at midnight until 2011
 * (St John's: 00:01 forward to 01:01, and back to 23:01 the day before).
 */
export const ZONES = [
  "Europe/Berlin",
  "America/New_York",
  "Australia/Sydney",
  "Asia/Kolkata",
  "America/St_Johns",
] as const;

export const zoneArb = fc.constantFrom(...ZONES);

/** An instant from 2000 to 2037, to the millisecond. */
export const instantArb = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2037, 11, 31) });

const pad = (n: number) => String(n).padStart(2, "0");

/** "HH:MM", often a time near midnight or near the 02:00 to 03:00 changes. */
export const timeArb = fc.oneof(
  fc.constantFrom(
    "00:00",
    "00:01",
    "00:30",
    "01:00",
    "01:30",
    "02:00",
    "02:30",
    "02:59",
    "03:00",
    "23:30",
    "23:59",
  ),
  fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
    .map(([h, m]) => `${pad(h)}:${pad(m)}`),
);

export const timesArb = fc.uniqueArray(timeArb, { minLength: 1, maxLength: 6 });
export const weekdayArb = fc.constantFrom(...WEEKDAYS);
export const daysArb = fc.uniqueArray(weekdayArb, { minLength: 1, maxLength: 7 });

export const hourlyArb: fc.Arbitrary<HourlySchedule> = fc.record({
  kind: fc.constant("hourly" as const),
  everyHours: fc.constantFrom(4 as const, 6 as const, 8 as const, 12 as const),
  windowStart: timeArb,
  windowHours: fc.integer({ min: 1, max: 24 }),
});
export const dailyArb: fc.Arbitrary<DailySchedule> = fc.record({
  kind: fc.constant("daily" as const),
  times: timesArb,
});
export const weeklyArb: fc.Arbitrary<WeeklySchedule> = fc.record({
  kind: fc.constant("weekly" as const),
  days: daysArb,
  times: timesArb,
});
export const scheduleArb: fc.Arbitrary<NamedSchedule> = fc.oneof(hourlyArb, dailyArb, weeklyArb);

/** A policy for the schedule tests; retention is irrelevant there. */
export function schedulePolicy(schedule: Schedule, timeZone: string): BackupPolicy {
  return { name: "p", schedule, timeZone, retention: { daily: { days: 7 } }, snapshotRetentionDays: 1 };
}

const monthDayArb = fc.oneof(fc.integer({ min: 1, max: 28 }), fc.constant("last" as const));

/** Retention rules with small counts, so that points over a few years outlive them. */
export const retentionArb: fc.Arbitrary<RetentionRules> = fc.record(
  {
    daily: fc.record({ days: fc.integer({ min: 7, max: 40 }) }),
    weekly: fc.record({ weeks: fc.integer({ min: 1, max: 12 }), day: weekdayArb }),
    monthly: fc.record({ months: fc.integer({ min: 1, max: 14 }), day: monthDayArb }),
    yearly: fc.record({
      years: fc.integer({ min: 1, max: 3 }),
      month: fc.integer({ min: 1, max: 12 }),
      day: monthDayArb,
    }),
  },
  { requiredKeys: [] },
);

/** A policy for the retention tests: only the zone, the rules and the snapshot days matter. */
export const retentionPolicyArb: fc.Arbitrary<BackupPolicy> = fc
  .record({
    timeZone: zoneArb,
    retention: retentionArb,
    snapshotRetentionDays: fc.integer({ min: 1, max: 30 }),
  })
  .map((p) => ({ name: "p", schedule: { kind: "daily", times: ["02:30"] }, ...p }));

export interface Point {
  readonly id: string;
  readonly created: number;
}

/**
 * Up to 150 points with unique ids, most of them within the last few months before `now` and
 * the rest over about three years (a few after `now`), several to a local day.
 */
export function pointsArb(now: number): fc.Arbitrary<Point[]> {
  const at = (days: number, hours: number, minutes: number) =>
    now - days * DAY + hours * 3_600_000 + minutes * 60_000;
  const created = fc
    .oneof(
      {
        weight: 4,
        arbitrary: fc.tuple(
          fc.integer({ min: 0, max: 70 }),
          fc.integer({ min: -12, max: 12 }),
          fc.integer({ min: 0, max: 59 }),
        ),
      },
      {
        weight: 2,
        arbitrary: fc.tuple(
          fc.integer({ min: 0, max: 500 }),
          fc.integer({ min: -12, max: 12 }),
          fc.constant(0),
        ),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(
          fc.integer({ min: -2, max: 1200 }),
          fc.integer({ min: -24, max: 24 }),
          fc.constant(0),
        ),
      },
    )
    .map(([days, hours, minutes]) => at(days, hours, minutes));
  return fc.uniqueArray(fc.record({ id: fc.string({ minLength: 1, maxLength: 4 }), created }), {
    maxLength: 150,
    size: "large",
    selector: (p) => p.id,
  });
}

/** The weekday names in the order a validated policy lists them. */
export const WEEK_ORDER: readonly Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

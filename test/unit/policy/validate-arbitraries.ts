import fc from "fast-check";
import type { NamedSchedule } from "../../../lib/policy/policy.ts";
import { longestRetentionDays } from "../../../lib/policy/validate-retention.ts";
import { scheduleArb, weekdayArb } from "./arbitraries.ts";

const monthDayArb = fc.oneof(fc.integer({ min: 1, max: 28 }), fc.constant("last"));

const rulesArb = {
  daily: fc.record({ days: fc.integer({ min: 7, max: 9999 }) }),
  weekly: fc.record({ weeks: fc.integer({ min: 1, max: 5163 }), day: weekdayArb }),
  monthly: fc.record({ months: fc.integer({ min: 1, max: 1188 }), day: monthDayArb }),
  yearly: fc.record({
    years: fc.integer({ min: 1, max: 99 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: monthDayArb,
  }),
};

/** Retention a schedule allows: weekly (on a scheduled day) for weekly schedules, else daily and more. */
function retentionFor(schedule: NamedSchedule) {
  if (schedule.kind === "weekly") {
    return fc.record({
      weekly: fc.record({
        weeks: rulesArb.weekly.map((w) => w.weeks),
        day: fc.constantFrom(...schedule.days),
      }),
    });
  }
  const { weekly, monthly, yearly } = rulesArb;
  return fc.record({ daily: rulesArb.daily, weekly, monthly, yearly }, { requiredKeys: ["daily"] });
}

/** Input `validatePolicy` accepts: any schedule, a retention that fits it, maybe an archive. */
export const validInputArb = scheduleArb.chain((schedule) =>
  fc
    .record({
      name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,40}$/),
      timeZone: fc.constantFrom(
        "Europe/Berlin",
        "America/St_Johns",
        "Asia/Kolkata",
        "UTC",
        "Pacific/Chatham",
      ),
      schedule: fc.constant(schedule),
      retention: retentionFor(schedule),
      snapshotRetentionDays: fc.integer({ min: 1, max: 30 }),
      archiveAt: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    })
    .map(({ archiveAt, ...input }) => {
      const limit = Math.min(3650, longestRetentionDays(input.retention) - 1);
      if (limit < 90 || archiveAt < 0.3) return input;
      return { ...input, archive: { afterDays: 90 + Math.floor(archiveAt * (limit - 89)) } };
    }),
);

/** A bad value for the field at `path`, and the field the refusal must name. */
export interface Corruption {
  readonly path: readonly string[];
  readonly bad: readonly unknown[];
}

/** Invalid values for each field (the parent object must exist for the corruption to apply). */
export const CORRUPTIONS: readonly Corruption[] = [
  { path: ["name"], bad: ["", " lead", "a/b", 42, "x".repeat(129), undefined] },
  { path: ["timeZone"], bad: ["Mars/Olympus_Mons", "+01:00", 3, "", undefined] },
  { path: ["schedule", "kind"], bad: ["monthly", 1, undefined] },
  {
    path: ["schedule", "times"],
    bad: [[], ["01:00", "01:00"], ["25:00"], ["1:00"], "01:00", Array(7).fill("01:00")],
  },
  { path: ["schedule", "everyHours"], bad: [5, 0, "4", 24] },
  { path: ["schedule", "windowStart"], bad: ["24:00", "9:00", "09:60", 9] },
  { path: ["schedule", "windowHours"], bad: [0, 25, 1.5, "4"] },
  { path: ["schedule", "days"], bad: [[], ["mon", "mon"], ["monday"], "mon"] },
  { path: ["schedule", "extra"], bad: [1] },
  { path: ["retention"], bad: [null, [], "daily"] },
  { path: ["retention", "daily", "days"], bad: [6, 10_000, 7.5, "30"] },
  { path: ["retention", "weekly", "weeks"], bad: [0, 5164, -1] },
  { path: ["retention", "weekly", "day"], bad: ["sunday", "Sun", 0] },
  { path: ["retention", "monthly", "months"], bad: [0, 1189] },
  { path: ["retention", "monthly", "day"], bad: [0, 29, 31, "first"] },
  { path: ["retention", "yearly", "years"], bad: [0, 100] },
  { path: ["retention", "yearly", "month"], bad: [0, 13, "jan"] },
  { path: ["retention", "yearly", "day"], bad: [29, "LAST"] },
  { path: ["retention", "daily", "hours"], bad: [24] },
  { path: ["snapshotRetentionDays"], bad: [0, 31, "5", undefined] },
  { path: ["archive", "afterDays"], bad: [89, 3651, 100.5] },
  { path: ["archive"], bad: [true, { afterDays: 89 }, { after: 100 }] },
  { path: ["policyName"], bad: ["x"] },
];

/** A copy of `input` with the field at `path` set to `value` (removed if undefined), or undefined if its parent is missing. */
export function corrupt(input: object, path: readonly string[], value: unknown): object | undefined {
  const copy = structuredClone(input) as Record<string, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) {
    const child = parent[key];
    if (typeof child !== "object" || child === null) return undefined;
    parent = child as Record<string, unknown>;
  }
  const last = path.at(-1)!;
  if (value === undefined) delete parent[last];
  else parent[last] = value;
  return copy;
}

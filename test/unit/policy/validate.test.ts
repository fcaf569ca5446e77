import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../lib/errors.ts";
import { validatePolicy } from "../../../lib/policy/validate.ts";
import { CORRUPTIONS, corrupt, validInputArb } from "./validate-arbitraries.ts";

const base = {
  name: "gold-vm",
  timeZone: "Europe/Berlin",
  schedule: { kind: "daily", times: ["22:00", "02:30"] },
  retention: { daily: { days: 30 }, weekly: { weeks: 12, day: "sun" }, monthly: { months: 60, day: "last" } },
  snapshotRetentionDays: 5,
  archive: { afterDays: 180 },
};

/** The message `validatePolicy` refuses `input` with. */
function refusal(input: unknown): string {
  try {
    validatePolicy(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).message;
  }
  throw new Error("accepted");
}

describe("validatePolicy", () => {
  it("normalizes: times sorted, weekly days Monday first, zone case fixed, all frozen", () => {
    const policy = validatePolicy(base);
    expect(policy.schedule).toEqual({ kind: "daily", times: ["02:30", "22:00"] });
    const weekly = validatePolicy({
      ...base,
      timeZone: "america/new_york",
      schedule: { kind: "weekly", days: ["sun", "wed", "mon"], times: ["23:00"] },
      retention: { weekly: { weeks: 104, day: "wed" } },
    });
    expect(weekly.schedule).toEqual({ kind: "weekly", days: ["mon", "wed", "sun"], times: ["23:00"] });
    expect(weekly.timeZone).toBe("America/New_York");
    expect(Object.isFrozen(policy.retention.monthly)).toBe(true);
  });

  it.each([
    [
      { retention: { daily: { days: 30 }, weekly: { weeks: 0, day: "sun" } } },
      "retention.weekly.weeks must be an integer from 1 to 5163, got 0",
    ],
    [{ retention: { daily: { days: 6 } } }, "retention.daily.days must be an integer from 7 to 9999, got 6"],
    [
      { retention: { daily: { days: 30 }, monthly: { months: 12, day: 29 } } },
      'retention.monthly.day must be an integer from 1 to 28 or "last", got 29',
    ],
    [{ snapshotRetentionDays: 31 }, "snapshotRetentionDays must be an integer from 1 to 30, got 31"],
    [
      { timeZone: "Mars/Olympus_Mons" },
      'timeZone must be an IANA time zone name such as "Europe/Berlin", got "Mars/Olympus_Mons"',
    ],
    [
      { schedule: { kind: "daily", times: ["02:30", "25:00"] } },
      'schedule.times[1] must be a time "HH:MM" from "00:00" to "23:59", got "25:00"',
    ],
    [
      { schedule: { kind: "daily", times: ["02:30", "02:30"] } },
      'schedule.times must be a list of 1 to 6 distinct times, got "02:30" twice',
    ],
    [
      { schedule: { kind: "hourly", everyHours: 5, windowStart: "08:00", windowHours: 12 } },
      "schedule.everyHours must be one of 4, 6, 8, 12, got 5",
    ],
    [
      { schedule: { kind: "hourly", everyHours: 4, windowStart: "08:00", windowHours: 25 } },
      "schedule.windowHours must be an integer from 1 to 24, got 25",
    ],
    [
      { retention: { daily: { days: 30 } } },
      "archive needs a retention longer than 90 days for a point to reach it; the longest is 30",
    ],
    [
      { archive: { afterDays: 1800 } },
      "archive.afterDays must be an integer from 90 to 1799 (below the longest retention, 1800 days), got 1800",
    ],
    [{ retention: { weekly: { weeks: 4, day: "sun" } } }, "retention.daily is required with daily schedules"],
    [
      { retention: { daily: { days: 30 }, weekley: {} } },
      'retention.weekley is not a known field; known fields are "daily", "weekly", "monthly", "yearly"',
    ],
  ])("refuses %j: %s", (change, message) => {
    expect(refusal({ ...base, ...change })).toBe(message);
  });

  it.each([
    [
      { retention: { daily: { days: 30 }, weekly: { weeks: 4, day: "sun" } } },
      "retention.daily is not allowed with weekly schedules",
    ],
    [
      { retention: { weekly: { weeks: 4, day: "mon" }, monthly: { months: 4, day: 1 } } },
      "retention.monthly is not allowed with weekly schedules",
    ],
    [{ retention: {} }, "retention.weekly is required with weekly schedules"],
    [
      { retention: { weekly: { weeks: 4, day: "mon" } } },
      'retention.weekly.day must be one of the scheduled days "sun", got "mon"',
    ],
  ])("ties retention to a weekly schedule: %j", (change, message) => {
    const weekly = {
      ...base,
      schedule: { kind: "weekly", days: ["sun"], times: ["01:00"] },
      archive: undefined,
    };
    expect(refusal({ ...weekly, ...change })).toMatch(
      new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
    );
  });

  it("refuses input that is not an object", () => {
    expect(refusal(null)).toBe("the policy must be an object, got null");
    expect(refusal([])).toBe("the policy must be an object, got a list");
  });

  it("accepts every valid policy, and a validated policy validates to itself", () => {
    fc.assert(
      fc.property(validInputArb, (input) => {
        const policy = validatePolicy(input);
        expect(validatePolicy(JSON.parse(JSON.stringify(policy)))).toEqual(policy);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses each invalid field with a ValidationError naming it", () => {
    const cases = fc.tuple(
      validInputArb,
      fc.constantFrom(...CORRUPTIONS).chain((c) => fc.tuple(fc.constant(c.path), fc.constantFrom(...c.bad))),
    );
    fc.assert(
      fc.property(cases, ([input, [path, bad]]) => {
        const broken = corrupt(input, path, bad);
        fc.pre(broken !== undefined);
        expect(refusal(broken).startsWith(path.join("."))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

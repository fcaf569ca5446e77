import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../lib/errors.ts";
import { validatePolicy } from "../../../lib/policy/validate.ts";
import { anyTimeArb } from "./cron-arbitraries.ts";

const base = {
  name: "weekday-vm",
  timeZone: "Europe/Berlin",
  schedule: { cron: "0 2 * * 1-5" },
  retention: { daily: { days: 14 }, weekly: { weeks: 8, day: "fri" } },
  snapshotRetentionDays: 3,
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

const withCron = (cron: unknown, retention: object = base.retention) => ({
  ...base,
  schedule: { cron },
  retention,
});

describe("validatePolicy with a cron schedule", () => {
  it("accepts a 5-field expression, collapses its whitespace, and validates to itself", () => {
    const policy = validatePolicy(withCron("  0  2 *\t* 1-5 "));
    expect(policy.schedule).toEqual({ cron: "0 2 * * 1-5" });
    expect(Object.isFrozen(policy.schedule)).toBe(true);
    expect(validatePolicy(JSON.parse(JSON.stringify(policy)))).toEqual(policy);
  });

  it("accepts names, nicknames and croner's L, W, # and + modifiers", () => {
    for (const cron of [
      "30 23 * * MON-FRI",
      "@daily",
      "@weekly",
      "0 3 L * *",
      "0 3 15W * *",
      "0 4 * * 5#1",
      "0 2 1 * +MON",
      "@hourly",
    ]) {
      expect(validatePolicy(withCron(cron, { daily: { days: 7 } })).schedule).toEqual({ cron });
    }
  });

  it("names the field and the expression in one line when croner refuses it", () => {
    expect(refusal(withCron("61 2 * * *"))).toBe(
      'schedule.cron "61 2 * * *" is not a valid cron expression: the minute must be 0 to 59',
    );
    // croner quotes a 13th month as "12" (it counts months from 0): the message says the range.
    expect(refusal(withCron("0 2 * 13 *"))).toBe(
      'schedule.cron "0 2 * 13 *" is not a valid cron expression: the month must be 1 to 12 or JAN to DEC',
    );
    expect(refusal(withCron("0 2 0 * *"))).toMatch(/: the day of the month must be 1 to 31$/);
    expect(refusal(withCron("0 2 * * 8"))).toMatch(
      /: the day of the week must be 0 to 7 \(0 and 7 are Sunday\)/,
    );
    expect(refusal(withCron("0 2-1 * * *"))).toMatch(/: From value is larger than to value: '2-1'$/);
    const message = refusal(withCron("0 2 * * funday"));
    expect(message).toMatch(/^schedule\.cron "0 2 \* \* funday" is not a valid cron expression: /);
    expect(message).not.toContain("\n");
  });

  it("refuses seconds and years, and counts the fields", () => {
    expect(refusal(withCron("0 0 2 * * *"))).toBe(
      'schedule.cron "0 0 2 * * *" must have 5 fields (minute hour day-of-month month day-of-week), ' +
        "got 6; seconds and years are not supported",
    );
    expect(refusal(withCron("0 2 *"))).toMatch(/^schedule\.cron "0 2 \*" must have 5 fields .*got 3/);
  });

  it("refuses what is not a string, an expression that never runs, and more than one run an hour", () => {
    expect(refusal(withCron(5))).toBe(
      'schedule.cron must be a cron expression such as "0 2 * * 1-5" (02:00 Monday to Friday), got 5',
    );
    expect(refusal(withCron(""))).toMatch(/^schedule\.cron must be a cron expression/);
    expect(refusal(withCron("0 2 30 2 *"))).toBe('schedule.cron "0 2 30 2 *" never runs');
    expect(refusal(withCron("*/30 * * * *"))).toBe(
      'schedule.cron "*/30 * * * *" runs more than once an hour; give the minute field one value, e.g. "15 */4 * * *"',
    );
    expect(refusal(withCron("0,59 3 * * *"))).toMatch(/runs more than once an hour/);
    expect(validatePolicy(withCron("59 * * * *", { daily: { days: 7 } })).schedule).toEqual({
      cron: "59 * * * *",
    });
    expect(refusal(withCron("@reboot"))).toMatch(
      /^schedule\.cron "@reboot" is not a valid cron expression: /,
    );
    expect(refusal(withCron(`0 2 * * ${"1,".repeat(60)}1`))).toMatch(
      /^schedule\.cron must be at most 100 characters/,
    );
  });

  it("refuses a cron field beside a kind, or any field but cron", () => {
    expect(refusal({ ...base, schedule: { cron: "0 2 * * *", kind: "daily" } })).toBe(
      'schedule.kind is not a known field; known fields are "cron"',
    );
    expect(refusal({ ...base, schedule: { cron: "0 2 * * *", times: ["02:00"] } })).toMatch(
      /^schedule\.times is not a known field/,
    );
  });
});

describe("retention with a cron schedule", () => {
  it("needs some rule", () => {
    expect(refusal(withCron("0 2 * * *", {}))).toBe(
      "retention needs at least one of daily, weekly, monthly or yearly with cron schedules",
    );
  });

  it("allows daily, weekly, monthly and yearly rules on days the expression runs on", () => {
    const everyDay = {
      daily: { days: 30 },
      weekly: { weeks: 12, day: "sun" },
      monthly: { months: 24, day: "last" },
      yearly: { years: 5, month: 12, day: "last" },
    };
    expect(validatePolicy(withCron("0 1 * * *", everyDay)).retention).toEqual(everyDay);
    // Only the 1st and 15th: a monthly keep on the 15th fits; its weekdays come round in time.
    const twice = { weekly: { weeks: 4, day: "sat" }, monthly: { months: 12, day: 15 } };
    expect(validatePolicy(withCron("0 1 1,15 * *", twice)).retention).toEqual(twice);
  });

  it("refuses a rule on days the expression never runs on, naming the rule and the expression", () => {
    expect(refusal(withCron("0 2 * * 1-5", { weekly: { weeks: 4, day: "sun" } }))).toBe(
      'retention.weekly.day must be a day schedule.cron "0 2 * * 1-5" runs on (else the rule keeps nothing), got "sun"',
    );
    expect(refusal(withCron("0 2 1-7 * *", { monthly: { months: 4, day: "last" } }))).toMatch(
      /^retention\.monthly\.day must be a day schedule\.cron "0 2 1-7 \* \*" runs on .*got "last"$/,
    );
    expect(refusal(withCron("0 2 * 1-6 *", { yearly: { years: 4, month: 12, day: 25 } }))).toMatch(
      /^retention\.yearly\.day must be a day .*got 25 of month 12$/,
    );
    // The first Monday of a month is never after the 7th.
    expect(refusal(withCron("0 2 * * 1#1", { monthly: { months: 4, day: 8 } }))).toMatch(
      /^retention\.monthly\.day must be a day/,
    );
  });
});

describe("validatePolicy on generated cron expressions", () => {
  it("accepts each with spaces anywhere, collapses them, and validates its result to itself", () => {
    const spacedArb = fc.tuple(anyTimeArb, fc.constantFrom(" ", "  ", "\t", " \t "));
    fc.assert(
      fc.property(spacedArb, ([expression, space]) => {
        const input = withCron(`${space}${expression.split(" ").join(space)}${space}`, {
          daily: { days: 7 },
        });
        const policy = validatePolicy(input);
        expect(policy.schedule).toEqual({ cron: expression });
        expect(validatePolicy(JSON.parse(JSON.stringify(policy)))).toEqual(policy);
      }),
      { numRuns: 150 },
    );
  });
});

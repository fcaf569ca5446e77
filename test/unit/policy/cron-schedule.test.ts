import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../lib/errors.ts";
import type { BackupPolicy } from "../../../lib/policy/policy.ts";
import { dueSlots } from "../../../lib/policy/schedule.ts";
import { schedulePolicy } from "./arbitraries.ts";

const utc = (iso: string) => Date.parse(`${iso}Z`);
const iso = (ms: number) => new Date(ms).toISOString();
const HOUR = 3_600_000;

const cron = (expression: string, zone: string): BackupPolicy => schedulePolicy({ cron: expression }, zone);
const slots = (policy: BackupPolicy, from: string, to: string) =>
  dueSlots(policy, utc(from), utc(to)).map(iso);
/** The latest slot at or before `at`: what run-due backs up (it looks a week back). */
const previous = (policy: BackupPolicy, at: string) =>
  iso(dueSlots(policy, utc(at) - 7 * 24 * HOUR, utc(at) + 1).at(-1)!);
/** The first slot after `at`. */
const next = (policy: BackupPolicy, at: string) =>
  iso(dueSlots(policy, utc(at) + 1, utc(at) + 8 * 24 * HOUR)[0]!);

describe("cron schedules in Europe/Berlin", () => {
  it("runs a 02:30 job at 03:00 CEST on 2026-03-29, when 02:30 does not exist", () => {
    expect(slots(cron("30 2 * * *", "Europe/Berlin"), "2026-03-28T00:00", "2026-03-31T00:00")).toEqual([
      "2026-03-28T01:30:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T00:30:00.000Z",
    ]);
  });

  it("runs a 02:30 job once, at the first 02:30 (CEST), on 2026-10-25", () => {
    expect(slots(cron("30 2 * * *", "Europe/Berlin"), "2026-10-24T00:00", "2026-10-27T00:00")).toEqual([
      "2026-10-24T00:30:00.000Z",
      "2026-10-25T00:30:00.000Z",
      "2026-10-26T01:30:00.000Z",
    ]);
  });

  it("runs an hourly job at the end of the spring gap and once through the repeated autumn hour", () => {
    const hourly = cron("30 * * * *", "Europe/Berlin");
    expect(slots(hourly, "2026-03-28T23:00", "2026-03-29T03:00")).toEqual([
      "2026-03-28T23:30:00.000Z", // 00:30 CET
      "2026-03-29T00:30:00.000Z", // 01:30 CET
      "2026-03-29T01:00:00.000Z", // 02:30 does not exist: 03:00 CEST
      "2026-03-29T01:30:00.000Z", // 03:30 CEST
      "2026-03-29T02:30:00.000Z",
    ]);
    expect(slots(hourly, "2026-10-24T22:00", "2026-10-25T03:00")).toEqual([
      "2026-10-24T22:30:00.000Z", // 00:30 CEST
      "2026-10-24T23:30:00.000Z", // 01:30 CEST
      "2026-10-25T00:30:00.000Z", // 02:30 CEST; not again at 02:30 CET (01:30 UTC)
      "2026-10-25T02:30:00.000Z", // 03:30 CET
    ]);
  });

  it("gives the previous and next slot of a weekday job across the spring change", () => {
    const weekdays = cron("0 2 * * 1-5", "Europe/Berlin");
    // Friday 2026-03-27 02:00 CET; the weekend has none; Monday 2026-03-30 02:00 CEST.
    expect(previous(weekdays, "2026-03-29T12:00")).toBe("2026-03-27T01:00:00.000Z");
    expect(next(weekdays, "2026-03-29T12:00")).toBe("2026-03-30T00:00:00.000Z");
    expect(previous(weekdays, "2026-03-30T00:00")).toBe("2026-03-30T00:00:00.000Z");
  });
});

describe("cron schedules in America/New_York", () => {
  it("runs Sunday's 02:30 at 03:00 EDT on 2026-03-08 and at 02:30 EDT a week later", () => {
    const sunday = cron("30 2 * * SUN", "America/New_York");
    expect(next(sunday, "2026-03-07T12:00")).toBe("2026-03-08T07:00:00.000Z");
    expect(next(sunday, "2026-03-08T07:00")).toBe("2026-03-15T06:30:00.000Z");
    expect(previous(sunday, "2026-03-08T06:59")).toBe("2026-03-01T07:30:00.000Z");
  });

  it("runs 01:00 once, at the first 01:00 (EDT), on 2026-11-01", () => {
    const one = cron("0 1 * * *", "America/New_York");
    expect(slots(one, "2026-10-31T00:00", "2026-11-03T00:00")).toEqual([
      "2026-10-31T05:00:00.000Z",
      "2026-11-01T05:00:00.000Z",
      "2026-11-02T06:00:00.000Z",
    ]);
    // Between the two 01:00s the one already due is the previous slot, and the next is tomorrow's.
    expect(previous(one, "2026-11-01T06:00")).toBe("2026-11-01T05:00:00.000Z");
    expect(next(one, "2026-11-01T05:00")).toBe("2026-11-02T06:00:00.000Z");
  });
});

describe("cron schedules in Australia/Sydney (southern DST)", () => {
  it("runs 02:30 once in April's repeated hour and at 03:00 AEDT in October's gap", () => {
    const job = cron("30 2 * * *", "Australia/Sydney");
    expect(slots(job, "2026-04-04T12:00", "2026-04-05T12:00")).toEqual(["2026-04-04T15:30:00.000Z"]);
    expect(slots(job, "2026-10-03T12:00", "2026-10-04T12:00")).toEqual(["2026-10-03T16:00:00.000Z"]);
  });
});

describe("cron schedules with calendar fields", () => {
  it("reads day-of-month and day-of-week as either (as cron does), and L as the month's last day", () => {
    // The 13th or a Friday, 09:00 UTC, in February 2026 (13th is a Friday).
    const either = slots(cron("0 9 13 * FRI", "UTC"), "2026-02-01T00:00", "2026-03-01T00:00");
    expect(either).toEqual(
      ["2026-02-06", "2026-02-13", "2026-02-20", "2026-02-27"].map((d) => `${d}T09:00:00.000Z`),
    );
    const last = slots(cron("0 22 L * *", "Asia/Kolkata"), "2026-01-01T00:00", "2026-04-01T00:00");
    expect(last).toEqual([
      "2026-01-31T16:30:00.000Z",
      "2026-02-28T16:30:00.000Z",
      "2026-03-31T16:30:00.000Z",
    ]);
  });

  it("splits like named schedules: a range cut in two gives the same slots", () => {
    const job = cron("15 */4 * * *", "Europe/Berlin");
    const from = utc("2026-10-24T00:00");
    const to = utc("2026-10-26T00:00");
    const whole = dueSlots(job, from, to);
    expect(whole).toHaveLength(12);
    for (let cut = from; cut <= to; cut += HOUR) {
      expect([...dueSlots(job, from, cut), ...dueSlots(job, cut, to)]).toEqual(whole);
    }
  });

  it("refuses non-finite bounds as named schedules do", () => {
    expect(() => dueSlots(cron("0 2 * * *", "UTC"), Number.NaN, 5)).toThrow(ValidationError);
  });
});

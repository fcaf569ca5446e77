import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../lib/errors.ts";
import { dueSlots } from "../../../lib/policy/schedule.ts";
import { schedulePolicy } from "./arbitraries.ts";
import { readClock } from "./clock-oracle.ts";

const utc = (iso: string) => Date.parse(`${iso}Z`);
const iso = (ms: number) => new Date(ms).toISOString();

const berlinDaily = (...times: string[]) => schedulePolicy({ kind: "daily", times }, "Europe/Berlin");

describe("dueSlots on concrete DST dates", () => {
  it("runs Berlin's 02:30 once at 03:00 CEST on 2026-03-29, when 02:30 does not exist", () => {
    const slots = dueSlots(berlinDaily("02:30"), utc("2026-03-28T00:00"), utc("2026-03-31T00:00"));
    expect(slots.map(iso)).toEqual([
      "2026-03-28T01:30:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T00:30:00.000Z",
    ]);
  });

  it("runs Berlin's 02:30 once, at the first 02:30 (CEST), on 2026-10-25", () => {
    const slots = dueSlots(berlinDaily("02:30"), utc("2026-10-24T00:00"), utc("2026-10-27T00:00"));
    expect(slots.map(iso)).toEqual([
      "2026-10-24T00:30:00.000Z",
      "2026-10-25T00:30:00.000Z",
      "2026-10-26T01:30:00.000Z",
    ]);
  });

  it("merges 02:30 and 03:00 into one slot on the spring-forward day only", () => {
    const slots = dueSlots(berlinDaily("03:00", "02:30"), utc("2026-03-28T00:00"), utc("2026-03-30T00:00"));
    expect(slots.map(iso)).toEqual([
      "2026-03-28T01:30:00.000Z",
      "2026-03-28T02:00:00.000Z",
      "2026-03-29T01:00:00.000Z",
    ]);
  });

  it("keeps six 4-hourly slots on Sydney's spring-forward day, at wall-clock times", () => {
    const policy = schedulePolicy(
      { kind: "hourly", everyHours: 4, windowStart: "02:00", windowHours: 24 },
      "Australia/Sydney",
    );
    // 2026-10-04 02:00 AEST does not exist: the first slot is at 03:00 AEDT (16:00 UTC the day before).
    const slots = dueSlots(policy, utc("2026-10-03T15:30"), utc("2026-10-04T14:30"));
    expect(slots.map((s) => new Date(readClock("Australia/Sydney", s)).toISOString().slice(11, 16))).toEqual([
      "03:00",
      "06:00",
      "10:00",
      "14:00",
      "18:00",
      "22:00",
    ]);
  });

  it("runs a weekly schedule on its days only, in local time", () => {
    const policy = schedulePolicy(
      { kind: "weekly", days: ["mon", "thu"], times: ["22:00"] },
      "America/New_York",
    );
    const slots = dueSlots(policy, utc("2026-03-01T00:00"), utc("2026-03-15T00:00"));
    // Mondays 2 and 9, Thursdays 5 and 12 at 22:00; EST (-5) until March 8, EDT (-4) after.
    expect(slots.map(iso)).toEqual([
      "2026-03-03T03:00:00.000Z",
      "2026-03-06T03:00:00.000Z",
      "2026-03-10T02:00:00.000Z",
      "2026-03-13T02:00:00.000Z",
    ]);
  });

  it("returns nothing for an empty range and refuses a bound that is not a number", () => {
    expect(dueSlots(berlinDaily("02:30"), 5, 5)).toEqual([]);
    expect(dueSlots(berlinDaily("02:30"), 10, 5)).toEqual([]);
    expect(() => dueSlots(berlinDaily("02:30"), Number.NaN, 5)).toThrow(ValidationError);
  });
});

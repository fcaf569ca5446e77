import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dueSlots } from "../../../lib/policy/schedule.ts";
import {
  dailyArb,
  hourlyArb,
  instantArb,
  scheduleArb,
  schedulePolicy,
  weeklyArb,
  zoneArb,
} from "./arbitraries.ts";
import { DAY, firstReading, isTransition, MINUTE, readClock } from "./clock-oracle.ts";
import { expectedSlots, toMinutes, weekdayOfDate } from "./schedule-oracle.ts";

describe("dueSlots properties across DST", () => {
  const rangeArb = fc.tuple(instantArb, fc.integer({ min: 30 * DAY, max: 200 * DAY }));

  it("is every configured slot, resolved by brute force, once", () => {
    fc.assert(
      fc.property(zoneArb, scheduleArb, rangeArb, (zone, schedule, [from, length]) => {
        const policy = schedulePolicy(schedule, zone);
        expect(dueSlots(policy, from, from + length)).toEqual(expectedSlots(policy, from, from + length));
      }),
      { numRuns: 60 },
    );
  });

  it("daily: each configured time once per local day; none doubled, none skipped", () => {
    fc.assert(
      fc.property(zoneArb, dailyArb, rangeArb, (zone, schedule, [from, length]) => {
        const slots = dueSlots(schedulePolicy(schedule, zone), from, from + length);
        const readings = new Set(slots.map((slot) => readClock(zone, slot)));
        expect(readings.size).toBe(slots.length);
        const firstDate = Math.floor(readClock(zone, from) / DAY) + 1;
        const lastDate = Math.floor(readClock(zone, from + length) / DAY) - 1;
        for (let date = firstDate; date < lastDate; date++) {
          for (const time of schedule.times) {
            const wall = date * DAY + toMinutes(time) * MINUTE;
            // The time itself, or, where the clock skipped it, the end of the skip.
            const runsAt = firstReading(zone, wall);
            expect(readings.has(wall) || (slots.includes(runsAt) && isTransition(zone, runsAt))).toBe(true);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it("hourly: every day's window holds its ceil(windowHours / everyHours) slots", () => {
    fc.assert(
      fc.property(zoneArb, hourlyArb, rangeArb, (zone, schedule, [from, length]) => {
        const slots = dueSlots(schedulePolicy(schedule, zone), from, from + length);
        const perDay = Math.ceil(schedule.windowHours / schedule.everyHours);
        const start = toMinutes(schedule.windowStart) * MINUTE;
        const firstDate = Math.floor(readClock(zone, from) / DAY) + 1;
        const lastDate = Math.floor(readClock(zone, from + length) / DAY) - 2;
        for (let date = firstDate; date < lastDate; date++) {
          const opens = firstReading(zone, date * DAY + start);
          const next = firstReading(zone, (date + 1) * DAY + start);
          expect(slots.filter((slot) => slot >= opens && slot < next).length).toBe(perDay);
        }
      }),
      { numRuns: 40 },
    );
  });

  it("weekly: slots fall on scheduled local weekdays only", () => {
    fc.assert(
      fc.property(zoneArb, weeklyArb, rangeArb, (zone, schedule, [from, length]) => {
        for (const slot of dueSlots(schedulePolicy(schedule, zone), from, from + length)) {
          expect(schedule.days).toContain(weekdayOfDate(Math.floor(readClock(zone, slot) / DAY)));
        }
      }),
      { numRuns: 40 },
    );
  });

  it("splitting a range anywhere splits the slots there: [a, c) = [a, b) ++ [b, c)", () => {
    const splitArb = fc.tuple(
      instantArb,
      fc.integer({ min: 1, max: 120 * DAY }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    );
    fc.assert(
      fc.property(
        zoneArb,
        scheduleArb,
        splitArb,
        fc.integer({ min: -1, max: 1 }),
        (zone, schedule, split, nudge) => {
          const [a, length, fraction] = split;
          const policy = schedulePolicy(schedule, zone);
          const whole = dueSlots(policy, a, a + length);
          // Split at a slot (give or take a millisecond) when there is one, else anywhere.
          const at = whole[Math.floor(fraction * whole.length)];
          const b = Math.min(
            a + length,
            Math.max(a, at === undefined ? a + Math.floor(fraction * length) : at + nudge),
          );
          expect([...dueSlots(policy, a, b), ...dueSlots(policy, b, a + length)]).toEqual(whole);
        },
      ),
      { numRuns: 150 },
    );
  });
});

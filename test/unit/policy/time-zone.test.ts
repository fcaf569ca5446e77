import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ianaTimeZone, instantOf, localDay, reachedDay, wallTime } from "../../../lib/policy/time-zone.ts";
import { instantArb, zoneArb } from "./arbitraries.ts";
import { DAY, firstReading, MINUTE, reachedDate, readClock } from "./clock-oracle.ts";

const utc = (iso: string) => Date.parse(`${iso}Z`);

describe("instantOf", () => {
  it.each([
    [
      "Europe/Berlin",
      "2026-03-29T02:30",
      "2026-03-29T01:00",
      "in the spring gap: the end of the gap, 03:00 CEST",
    ],
    ["Europe/Berlin", "2026-03-29T02:00", "2026-03-29T01:00", "at the start of the gap"],
    ["Europe/Berlin", "2026-03-29T03:00", "2026-03-29T01:00", "at the end of the gap"],
    ["Europe/Berlin", "2026-10-25T02:30", "2026-10-25T00:30", "ambiguous: the first, CEST"],
    ["Europe/Berlin", "2026-10-25T03:00", "2026-10-25T02:00", "just after the repeated hour"],
    ["America/New_York", "2026-03-08T02:15", "2026-03-08T07:00", "in the gap"],
    ["America/New_York", "2026-11-01T01:30", "2026-11-01T05:30", "ambiguous: the first, EDT"],
    ["Australia/Sydney", "2026-10-04T02:30", "2026-10-03T16:00", "southern spring gap"],
    ["Australia/Sydney", "2026-04-05T02:30", "2026-04-04T15:30", "southern autumn: the first, AEDT"],
    ["Asia/Kolkata", "2026-03-29T02:30", "2026-03-28T21:00", "no DST, +05:30"],
    ["America/St_Johns", "2026-03-08T02:30", "2026-03-08T05:30", "gap at 02:00, offset -03:30"],
    ["America/St_Johns", "2008-03-09T00:30", "2008-03-09T03:31", "pre-2011 gap at 00:01: runs at 01:01"],
    [
      "America/St_Johns",
      "2008-11-01T23:30",
      "2008-11-02T02:00",
      "pre-2011 fall-back to the day before: the first",
    ],
    ["Pacific/Apia", "2011-12-30T09:00", "2011-12-30T10:00", "a skipped day: its first instant after"],
  ])("%s %s runs at %s UTC (%s)", (zone, wall, expected) => {
    expect(new Date(instantOf(zone, utc(wall))).toISOString()).toBe(new Date(utc(expected)).toISOString());
  });

  it("is the first instant the clock reads the wall time or later, in every zone", () => {
    fc.assert(
      fc.property(zoneArb, instantArb, fc.integer({ min: -90, max: 90 }), (zone, at, shift) => {
        // Wall times near the zone's real readings, some of them in gaps or repeated hours.
        const wall = Math.floor(readClock(zone, at) / MINUTE) * MINUTE + shift * MINUTE;
        expect(instantOf(zone, wall)).toBe(firstReading(zone, wall));
      }),
      { numRuns: 300 },
    );
  });

  it("agrees with the oracle around every change of 2008 and 2026 in each zone", () => {
    for (const zone of ["Europe/Berlin", "America/New_York", "Australia/Sydney", "America/St_Johns"]) {
      for (const year of [2008, 2026]) {
        for (let t = Date.UTC(year, 0, 1); t < Date.UTC(year + 1, 0, 1); t += DAY) {
          if (readClock(zone, t) - t === readClock(zone, t + DAY) - (t + DAY)) continue;
          const start = Math.floor(readClock(zone, t) / MINUTE) * MINUTE;
          for (let wall = start; wall < start + 2 * DAY; wall += 30 * MINUTE) {
            expect(instantOf(zone, wall)).toBe(firstReading(zone, wall));
          }
        }
      }
    }
  });
});

describe("wallTime and localDay", () => {
  it("read the clock to the millisecond", () => {
    fc.assert(
      fc.property(zoneArb, instantArb, (zone, at) => {
        expect(wallTime(zone, at)).toBe(readClock(zone, at));
        expect(localDay(zone, at)).toBe(Math.floor(readClock(zone, at) / DAY));
      }),
    );
  });
});

describe("reachedDay", () => {
  it("stays on the day begun when St John's clocks went back over midnight (2008-11-02 00:01)", () => {
    const back = utc("2008-11-02T02:31");
    expect(localDay("America/St_Johns", back)).toBe(localDay("America/St_Johns", back - DAY));
    expect(reachedDay("America/St_Johns", back)).toBe(localDay("America/St_Johns", back - 1000));
  });

  it("is the latest local date shown so far, and never decreases", () => {
    fc.assert(
      fc.property(zoneArb, instantArb, fc.integer({ min: 0, max: 3 * DAY }), (zone, at, later) => {
        expect(reachedDay(zone, at)).toBe(reachedDate(zone, at));
        expect(reachedDay(zone, at + later)).toBeGreaterThanOrEqual(reachedDay(zone, at));
      }),
    );
  });
});

describe("ianaTimeZone", () => {
  it.each([
    ["Europe/Berlin", "Europe/Berlin"],
    ["europe/berlin", "Europe/Berlin"],
    ["Asia/Kolkata", "Asia/Kolkata"],
    ["UTC", "UTC"],
  ])("accepts %s as %s", (name, expected) => {
    expect(ianaTimeZone(name)).toBe(expected);
  });

  it.each(["Mars/Olympus_Mons", "+05:30", "-03:00", "", "Europe/Berlin "])("refuses %j", (name) => {
    expect(ianaTimeZone(name)).toBeUndefined();
  });
});

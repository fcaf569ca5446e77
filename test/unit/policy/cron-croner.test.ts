/**
 * The vault's due times for cron schedules against croner's own next run in the zone. croner
 * evaluates the expression in the zone itself; the vault evaluates it on wall times and maps
 * them through `instantOf`. For fixed-time expressions (one minute, one hour) croner's DST rules
 * are the vault's, so the two agree everywhere; for others they differ only within hours of a
 * clock change (croner skips a time in the gap and runs the repeated hour twice).
 */
import { Cron } from "croner";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BackupPolicy } from "../../../lib/policy/policy.ts";
import { dueSlots } from "../../../lib/policy/schedule.ts";
import { validatePolicy } from "../../../lib/policy/validate.ts";
import { instantArb, ZONES } from "./arbitraries.ts";
import { DAY, HOUR, readClock } from "./clock-oracle.ts";
import { anyTimeArb, fixedTimeArb } from "./cron-arbitraries.ts";

const offset = (zone: string, ms: number) => readClock(zone, ms) - ms;

const changes = new Map<string, number[]>();
/** The instants (to the hour) the zone's offset changes in `year`: days that change, then their hours. */
function offsetChanges(zone: string, year: number): number[] {
  const key = `${zone} ${year}`;
  let found = changes.get(key);
  if (found === undefined) {
    found = [];
    for (let day = Date.UTC(year, 0, 1); day < Date.UTC(year + 1, 0, 1); day += DAY) {
      if (offset(zone, day) === offset(zone, day + DAY)) continue;
      for (let ms = day; ms < day + DAY; ms += HOUR) {
        if (offset(zone, ms) !== offset(zone, ms + HOUR)) found.push(ms + HOUR);
      }
    }
    changes.set(key, found);
  }
  return found;
}

/** A zone and an instant: uniform from 2000 to 2037, or within two days of one of its clock changes. */
const zoneInstantArb = fc.constantFrom(...ZONES).chain((zone) =>
  fc.tuple(
    fc.constant(zone),
    fc.oneof(
      instantArb,
      fc
        .record({
          year: fc.integer({ min: 2000, max: 2037 }),
          pick: fc.nat(),
          delta: fc.integer({ min: -2 * DAY, max: 2 * DAY }),
        })
        .map(({ year, pick, delta }) => {
          const found = offsetChanges(zone, year);
          return (found.length === 0 ? Date.UTC(year, 2, 1) : found[pick % found.length]!) + delta;
        }),
    ),
  ),
);

/** The validated policy of `expression` in `zone`. */
function policyOf(expression: string, zone: string): BackupPolicy {
  return validatePolicy({
    name: "p",
    timeZone: zone,
    schedule: { cron: expression },
    retention: { daily: { days: 7 } },
    snapshotRetentionDays: 1,
  });
}

/** The vault's first slot after `after`, looking up to two years ahead. */
function vaultNext(policy: BackupPolicy, after: number): number | undefined {
  for (let from = after + 1; from < after + 730 * DAY; from += 30 * DAY) {
    const slot = dueSlots(policy, from, from + 30 * DAY)[0];
    if (slot !== undefined) return slot;
  }
  return undefined;
}

const inZone = (expression: string, zone: string) =>
  new Cron(expression, { timezone: zone, paused: true, mode: "5-part" });

describe("cron due times against croner in the zone", () => {
  it("agree on the next run of a fixed-time expression, through every clock change", () => {
    fc.assert(
      fc.property(fixedTimeArb, zoneInstantArb, (expression, [zone, at]) => {
        const policy = policyOf(expression, zone);
        const croner = inZone(expression, zone).nextRun(new Date(at))?.getTime();
        expect(vaultNext(policy, at)).toBe(croner);
      }),
      { numRuns: 300 },
    );
  });

  it("agree on every run of any expression more than three hours from a clock change", () => {
    const calm = (zone: string) => (ms: number) =>
      offset(zone, ms - 3 * HOUR) === offset(zone, ms + 3 * HOUR);
    fc.assert(
      fc.property(anyTimeArb, zoneInstantArb, (expression, [zone, at]) => {
        const policy = policyOf(expression, zone);
        const to = at + 3 * DAY;
        const croner: number[] = [];
        const pattern = inZone(expression, zone);
        for (
          let run = pattern.nextRun(new Date(at - 1));
          run !== null && run.getTime() < to;
          run = pattern.nextRun(run)
        ) {
          croner.push(run.getTime());
        }
        const vault = dueSlots(policy, at, to);
        expect(vault.filter(calm(zone))).toEqual(croner.filter(calm(zone)));
      }),
      { numRuns: 200 },
    );
  });
});

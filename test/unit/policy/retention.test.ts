import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../lib/errors.ts";
import type { BackupPolicy, RetentionRules } from "../../../lib/policy/policy.ts";
import { pointsToExpire } from "../../../lib/policy/retention.ts";
import type { Point } from "./arbitraries.ts";
import { instantArb, pointsArb, retentionPolicyArb } from "./arbitraries.ts";
import { DAY } from "./clock-oracle.ts";
import { byCreatedThenId, expectedExpired } from "./retention-oracle.ts";

/** Policy, points and a time to evaluate at. */
const caseArb = fc
  .tuple(retentionPolicyArb, instantArb)
  .chain(([policy, now]) => fc.tuple(fc.constant(policy), pointsArb(now), fc.constant(now)));

const keptBy = (policy: BackupPolicy, points: Point[], now: number) => {
  const expired = new Set(pointsToExpire(policy, points, now));
  return points.filter((p) => !expired.has(p.id)).map((p) => p.id);
};

describe("pointsToExpire properties", () => {
  it("is exactly the documented rules, computed the slow way", () => {
    fc.assert(
      fc.property(caseArb, ([policy, points, now]) => {
        expect(pointsToExpire(policy, points, now)).toEqual(expectedExpired(policy, points, now));
      }),
      { numRuns: 200 },
    );
  });

  it("does not depend on the order of the points, and lists ids oldest first", () => {
    const shuffledArb = caseArb.chain(([policy, points, now]) =>
      fc.tuple(
        fc.constant(policy),
        fc.constant(points),
        fc.shuffledSubarray(points, { minLength: points.length, maxLength: points.length }),
        fc.constant(now),
      ),
    );
    fc.assert(
      fc.property(shuffledArb, ([policy, points, shuffled, now]) => {
        const expired = pointsToExpire(policy, points, now);
        expect(pointsToExpire(policy, shuffled, now)).toEqual(expired);
        const byId = new Map(points.map((p) => [p.id, p]));
        const listed = expired.map((id) => byId.get(id)!);
        expect(listed).toEqual([...listed].sort(byCreatedThenId));
      }),
    );
  });

  it("never expires the newest point", () => {
    fc.assert(
      fc.property(caseArb, ([policy, points, now]) => {
        const newest = [...points].sort(byCreatedThenId).at(-1);
        if (newest) expect(pointsToExpire(policy, points, now)).not.toContain(newest.id);
      }),
    );
  });

  it("keeps every point any single rule alone would keep", () => {
    fc.assert(
      fc.property(caseArb, ([policy, points, now]) => {
        const kept = new Set(keptBy(policy, points, now));
        const { daily, weekly, monthly, yearly } = policy.retention;
        const singles: RetentionRules[] = [{}, { daily }, { weekly }, { monthly }, { yearly }];
        for (const retention of singles) {
          for (const id of keptBy({ ...policy, retention }, points, now)) expect(kept).toContain(id);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("once a point is expired it stays expired later", () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 800 * DAY }), ([policy, points, now], later) => {
        const after = new Set(pointsToExpire(policy, points, now + later));
        for (const id of pointsToExpire(policy, points, now)) expect(after).toContain(id);
      }),
      { numRuns: 150 },
    );
  });
});

describe("pointsToExpire input checks", () => {
  const policy = fc.sample(retentionPolicyArb, 1)[0]!;

  it("refuses a repeated id, a creation time or a now that is not a number", () => {
    expect(() =>
      pointsToExpire(
        policy,
        [
          { id: "a", created: 1 },
          { id: "a", created: 2 },
        ],
        3,
      ),
    ).toThrow(ValidationError);
    expect(() => pointsToExpire(policy, [{ id: "a", created: Number.NaN }], 3)).toThrow(ValidationError);
    expect(() => pointsToExpire(policy, [{ id: "a", created: 1 }], Number.POSITIVE_INFINITY)).toThrow(
      ValidationError,
    );
  });

  it("has nothing to expire without points", () => {
    expect(pointsToExpire(policy, [], Date.now())).toEqual([]);
  });
});

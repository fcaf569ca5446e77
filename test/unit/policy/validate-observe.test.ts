import { describe, expect, it } from "vitest";
import { validatePolicy } from "../../../lib/policy/validate.ts";

const BASE = {
  name: "daily",
  schedule: { kind: "daily", times: ["01:00"] },
  timeZone: "UTC",
  retention: { daily: { days: 7 } },
  snapshotRetentionDays: 1,
};

describe("a policy's RPO grace, verification and restore drill", () => {
  it("keeps valid values", () => {
    const policy = validatePolicy({
      ...BASE,
      rpoGraceMinutes: 90,
      verification: { everyDays: 1, readAllWithinDays: 30 },
      restoreDrill: { everyDays: 7, check: "ext4" },
    });
    expect([policy.rpoGraceMinutes, policy.verification, policy.restoreDrill]).toEqual([
      90,
      { everyDays: 1, readAllWithinDays: 30 },
      { everyDays: 7, check: "ext4" },
    ]);
    expect(validatePolicy(BASE).verification).toBeUndefined();
  });

  it.each([
    [{ rpoGraceMinutes: 5 }, "rpoGraceMinutes must be an integer from 15 to 10080, got 5"],
    [
      { verification: { everyDays: 7, readAllWithinDays: 3 } },
      "verification.readAllWithinDays must be at least verification.everyDays (7), got 3",
    ],
    [
      { verification: { everyDays: 0, readAllWithinDays: 3 } },
      "verification.everyDays must be an integer from 1 to 30, got 0",
    ],
    [{ verification: { everyDays: 1, readAllWithinDays: 3, subset: "1/3" } }, "subset"],
    [
      { restoreDrill: { everyDays: 7, check: "rm -rf /" } },
      'restoreDrill.check must be one of "ext4", "vfat"',
    ],
    [{ restoreDrill: { everyDays: 7, command: ["e2fsck"] } }, "command"],
  ])("refuses %j naming the field", (extra, message) => {
    expect(() => validatePolicy({ ...BASE, ...extra })).toThrow(message);
  });
});

import { describe, expect, it } from "vitest";
import type { BackupPolicy, RetentionRules } from "../../../lib/policy/policy.ts";
import { pointsToExpire, tierFor } from "../../../lib/policy/retention.ts";
import { DAY } from "./clock-oracle.ts";

const utc = (iso: string) => Date.parse(`${iso}Z`);

function policy(
  timeZone: string,
  retention: RetentionRules,
  extra: Partial<BackupPolicy> = {},
): BackupPolicy {
  return {
    name: "p",
    schedule: { kind: "daily", times: ["01:00", "13:00"] },
    timeZone,
    retention,
    snapshotRetentionDays: 1,
    ...extra,
  };
}

/** A point named after its UTC creation time ("2026-02-14T12:00"). */
const point = (iso: string) => ({ id: iso, created: utc(iso) });

/** A point every day from `first` for `days` days at each UTC `hours`. */
function everyDay(first: string, days: number, hours: number[]) {
  const points = [];
  for (let day = 0; day < days; day++) {
    for (const hour of hours)
      points.push(point(new Date(utc(first) + day * DAY + hour * 3_600_000).toISOString().slice(0, 16)));
  }
  return points;
}

describe("pointsToExpire examples", () => {
  // Berlin in February is UTC+1: 00:00 and 12:00 UTC are 01:00 and 13:00 local.
  const points = everyDay("2026-02-01T00:00", 20, [0, 12]);
  const now = utc("2026-02-20T13:00");

  it("daily: keeps each of the last 7 local days' latest point, plus the last day's snapshots", () => {
    const kept = points.filter(
      (p) => !pointsToExpire(policy("Europe/Berlin", { daily: { days: 7 } }), points, now).includes(p.id),
    );
    expect(kept.map((p) => p.id)).toEqual([
      "2026-02-14T12:00",
      "2026-02-15T12:00",
      "2026-02-16T12:00",
      "2026-02-17T12:00",
      "2026-02-18T12:00",
      "2026-02-19T12:00",
      "2026-02-20T00:00",
      "2026-02-20T12:00",
    ]);
  });

  it("applies a changed policy to the existing points at the next evaluation", () => {
    const week = pointsToExpire(policy("Europe/Berlin", { daily: { days: 7 } }), points, now);
    const fortnight = pointsToExpire(policy("Europe/Berlin", { daily: { days: 14 } }), points, now);
    expect(week.length - fortnight.length).toBe(7);
    expect(week).toEqual(expect.arrayContaining(fortnight));
    expect(fortnight).toContain("2026-02-06T12:00");
    expect(fortnight).not.toContain("2026-02-07T12:00");
  });

  it("counts days in the policy's time zone, not in UTC", () => {
    // 2026-06-01 00:30 in Sydney (UTC+10) is 2026-05-31 14:30 UTC.
    const sydney = [point("2026-05-31T13:00"), point("2026-05-31T14:30"), point("2026-06-07T02:00")];
    const expired = pointsToExpire(
      policy("Australia/Sydney", { daily: { days: 7 } }),
      sydney,
      utc("2026-06-07T03:00"),
    );
    expect(expired).toEqual(["2026-05-31T13:00"]);
  });

  it("weekly: keeps the latest point of each of the last 3 Sundays, local time", () => {
    // 22:00 in New York is 03:00 UTC the next day (EST, winter).
    const nightly = everyDay("2026-01-01T03:00", 45, [0]);
    const expired = pointsToExpire(
      policy("America/New_York", { weekly: { weeks: 3, day: "sun" } }),
      nightly,
      utc("2026-02-14T12:00"),
    );
    const kept = nightly.map((p) => p.id).filter((id) => !expired.includes(id));
    // Sundays Jan 25, Feb 1 and Feb 8 at 22:00 local; Feb 13 22:00 is the newest and in the snapshot tier.
    expect(kept).toEqual(["2026-01-26T03:00", "2026-02-02T03:00", "2026-02-09T03:00", "2026-02-14T03:00"]);
  });

  it("monthly on the last day: keeps 31 January, 29 February (leap year) and 31 March", () => {
    const daily = everyDay("2028-01-01T12:00", 100, [0]);
    const rules = { monthly: { months: 3, day: "last" as const } };
    const expired = pointsToExpire(policy("Asia/Kolkata", rules), daily, utc("2028-04-09T13:00"));
    const kept = daily.map((p) => p.id).filter((id) => !expired.includes(id));
    expect(kept).toEqual(["2028-01-31T12:00", "2028-02-29T12:00", "2028-03-31T12:00", "2028-04-09T12:00"]);
  });

  it("monthly: this month counts only once its day has come", () => {
    const daily = everyDay("2028-01-01T12:00", 100, [0]);
    const rules = { monthly: { months: 2, day: 15 } };
    const before = pointsToExpire(policy("UTC", rules), daily, utc("2028-04-14T13:00"));
    const on = pointsToExpire(policy("UTC", rules), daily, utc("2028-04-15T13:00"));
    expect(before).not.toContain("2028-02-15T12:00");
    expect(before).not.toContain("2028-03-15T12:00");
    expect(on).toContain("2028-02-15T12:00");
    expect(on).not.toContain("2028-04-15T12:00");
  });

  it("yearly: keeps 31 December of the last 2 years", () => {
    const ends = [
      "2023-12-31T10:00",
      "2024-12-31T10:00",
      "2025-12-31T10:00",
      "2026-12-31T10:00",
      "2027-03-01T10:00",
    ];
    const rules = { yearly: { years: 2, month: 12, day: "last" as const } };
    const expired = pointsToExpire(policy("Europe/Berlin", rules), ends.map(point), utc("2027-06-01T00:00"));
    expect(expired).toEqual(["2023-12-31T10:00", "2024-12-31T10:00"]);
  });

  it("keeps points from the future and the newest point whatever the rules", () => {
    const some = [point("2026-01-01T00:00"), point("2026-01-02T00:00"), point("2026-03-01T00:00")];
    expect(pointsToExpire(policy("UTC", {}), some, utc("2026-01-01T12:00"))).toEqual([]);
    expect(pointsToExpire(policy("UTC", {}), some, utc("2026-06-01T00:00"))).toEqual([
      "2026-01-01T00:00",
      "2026-01-02T00:00",
    ]);
  });
});

describe("tierFor", () => {
  const archived = policy(
    "UTC",
    { daily: { days: 365 } },
    { snapshotRetentionDays: 5, archive: { afterDays: 100 } },
  );
  const created = utc("2026-01-01T00:00");
  const tierAt = (p: BackupPolicy, age: number) => tierFor(p, { id: "a", created }, created + age);

  it("is snapshot, then vault, then archive, by age in days of 24 hours", () => {
    expect(tierAt(archived, -DAY)).toBe("snapshot");
    expect(tierAt(archived, 0)).toBe("snapshot");
    expect(tierAt(archived, 5 * DAY - 1)).toBe("snapshot");
    expect(tierAt(archived, 5 * DAY)).toBe("vault");
    expect(tierAt(archived, 100 * DAY - 1)).toBe("vault");
    expect(tierAt(archived, 100 * DAY)).toBe("archive");
  });

  it("never archives without an archive setting", () => {
    expect(tierAt({ ...archived, archive: undefined }, 3000 * DAY)).toBe("vault");
  });
});

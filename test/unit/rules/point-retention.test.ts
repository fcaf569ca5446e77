import { describe, expect, it } from "vitest";
import type { RecoveryPointRecord } from "../../../lib/model.ts";
import type { BackupPolicy } from "../../../lib/policy/policy.ts";
import {
  committableEnd,
  effectiveEnd,
  expirable,
  guaranteedEnd,
} from "../../../lib/rules/point-retention.ts";

const DAY = 24 * 60 * 60 * 1000;
const policy = {
  name: "p",
  schedule: { kind: "daily", times: ["01:00"] },
  timeZone: "UTC",
  retention: { daily: { days: 10 } },
  snapshotRetentionDays: 2,
} as unknown as BackupPolicy;

const at = (iso: string) => Date.parse(iso);
const point = (id: string, created: string, retainUntil?: number): RecoveryPointRecord => ({
  id,
  vaultId: "v",
  disk: "d",
  created: at(created),
  parent: null,
  consistency: "crash-consistent",
  logicalSize: 1,
  bytesStored: 1,
  manifest: "m",
  tier: "snapshot",
  state: "available",
  ...(retainUntil !== undefined ? { retainUntil } : {}),
});

describe("point retention", () => {
  const morning = point("a", "2026-06-01T08:00:00Z");
  const evening = point("b", "2026-06-01T20:00:00Z");
  const points = [morning, evening];

  it("commits only the snapshot tier while the point's day is open, the rule's end once it closes", () => {
    expect(committableEnd(policy, points, evening, at("2026-06-01T21:00:00Z"), false)).toBe(
      evening.created + 2 * DAY,
    );
    expect(committableEnd(policy, points, evening, at("2026-06-02T00:01:00Z"), false)).toBeGreaterThan(
      at("2026-06-10T23:00:00Z"),
    );
    // Final (protection stops): no later backup can take the day from it.
    expect(committableEnd(policy, points, evening, at("2026-06-01T21:00:00Z"), true)).toBeGreaterThan(
      at("2026-06-10T23:00:00Z"),
    );
    // Not the day's latest: the snapshot tier is all it ever gets.
    expect(committableEnd(policy, points, morning, at("2026-06-05T00:00:00Z"), false)).toBe(
      morning.created + 2 * DAY,
    );
  });

  it("a floor outlives the policy, and the later of floor and policy wins", () => {
    const floored = point("b", "2026-06-01T20:00:00Z", at("2026-07-01T00:00:00Z"));
    expect(effectiveEnd(floored, undefined)).toBe(at("2026-07-01T00:00:00Z"));
    expect(effectiveEnd(floored, at("2026-06-11T00:00:00Z"))).toBe(at("2026-07-01T00:00:00Z"));
    expect(effectiveEnd(evening, at("2026-06-11T00:00:00Z"))).toBe(at("2026-06-11T00:00:00Z"));
    expect(guaranteedEnd(undefined, [floored], floored, at("2026-06-02T00:00:00Z"))).toBe(
      at("2026-07-01T00:00:00Z"),
    );
  });

  it("retention expires nothing whose floor is ahead, even what the policy releases", () => {
    const newer = point("c", "2026-06-20T20:00:00Z");
    const now = at("2026-06-21T00:00:00Z");
    expect(expirable(policy, [morning, evening, newer], now)).toStrictEqual(["a", "b"]);
    const held = point("b", "2026-06-01T20:00:00Z", now + 1);
    expect(expirable(policy, [morning, held, newer], now)).toStrictEqual(["a"]);
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  predictRestore,
  REHYDRATION_HOURS,
  RESTORE_BYTES_PER_SECOND,
  RESTORE_FIXED_MS,
} from "../../../lib/engine/restore/predict.ts";
import { Tier } from "../../../lib/model.ts";

describe("predicted restore time", () => {
  it("is the fixed cost plus the size at the measured rate, for the snapshot and vault tiers", () => {
    const size = 10 * RESTORE_BYTES_PER_SECOND;
    for (const tier of [Tier.Snapshot, Tier.Vault]) {
      expect(predictRestore({ logicalSize: size, tier })).toEqual({
        ms: RESTORE_FIXED_MS + 10_000,
        rehydrationMs: 0,
        transferMs: RESTORE_FIXED_MS + 10_000,
      });
    }
  });

  it("waits for rehydration first for an archived point", () => {
    const p = predictRestore({ logicalSize: RESTORE_BYTES_PER_SECOND, tier: Tier.Archive });
    expect(p.rehydrationMs).toBe(REHYDRATION_HOURS * 3_600_000);
    expect(p.ms).toBe(p.rehydrationMs + RESTORE_FIXED_MS + 1000);
  });

  it("grows with the size and shrinks with the workers it fans out over", () => {
    fc.assert(
      fc.property(fc.nat(2 ** 44), fc.nat(2 ** 44), fc.integer({ min: 1, max: 64 }), (a, b, workers) => {
        const [small, large] = a <= b ? [a, b] : [b, a];
        const at = (logicalSize: number, w = 1) => predictRestore({ logicalSize, tier: Tier.Vault }, w).ms;
        expect(at(small)).toBeLessThanOrEqual(at(large));
        expect(at(large, workers)).toBeLessThanOrEqual(at(large));
      }),
    );
  });
});

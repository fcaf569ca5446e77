import { beforeEach, describe, expect, it } from "vitest";
import { AlreadyExistsError, ConflictError, NotFoundError } from "../../lib/errors.ts";
import { defaultSettings, LockState, type PolicyRecord, type VaultSettings } from "../../lib/model.ts";
import type { Catalog } from "../../lib/ports/catalog.ts";
import { vault } from "./catalog-records.ts";

/** A policy definition shaped like one `validatePolicy` returns, nested enough to show JSON survives. */
export const DEFINITION: PolicyRecord["definition"] = {
  name: "daily-30",
  schedule: { kind: "weekly", days: ["mon", "thu"], times: ["01:30", "13:30"] },
  timeZone: "Europe/Amsterdam",
  retention: { weekly: { weeks: 12, day: "mon" }, monthly: { months: 6, day: "last" } },
  snapshotRetentionDays: 2,
  archive: { afterDays: 90 },
  note: 'naïve ✓ "quoted"',
  ratio: 0.25,
  flags: [true, false, null],
};

/** Version 1 of policy `name` in vault `v1`, with {@link DEFINITION}. */
export function policy(name: string, over: Partial<PolicyRecord> = {}): PolicyRecord {
  return {
    vaultId: "v1",
    name,
    version: 1,
    created: 1_700_000_000_000,
    updated: 1_700_000_000_000,
    definition: DEFINITION,
    ...over,
  };
}

/** Settings of vault `v1` written as version `version`, every field off its default. */
export function settings(version: number, over: Partial<VaultSettings> = {}): VaultSettings {
  return {
    vaultId: "v1",
    softDeleteDays: 30,
    softDeleteEnabled: false,
    softDeleteAlwaysOn: true,
    lock: LockState.Enabled,
    restoreDirectories: ["/srv/restores", "/var/lib/restores"],
    version,
    ...over,
  };
}

/** The next revision of `p`: version incremented, a changed definition, a later update time. */
function revised(p: PolicyRecord, definition: PolicyRecord["definition"]): PolicyRecord {
  return { ...p, version: p.version + 1, updated: p.updated + 60_000, definition };
}

const names = (policies: readonly PolicyRecord[]) => policies.map((p) => p.name);

/**
 * The policy and settings clauses of the Catalog contract; part of `describeCatalogContract`.
 * `current` returns the catalog of the running test.
 */
export function describeRuleClauses(current: () => Catalog): void {
  describe("policies and settings", () => {
    let catalog: Catalog;
    beforeEach(async () => {
      catalog = current();
      await catalog.createVault(vault());
      await catalog.createVault(vault({ id: "v2", name: "other" }));
    });

    describe("policies", () => {
      it("creates a policy against null and round-trips it, definition JSON intact", async () => {
        await catalog.putPolicy(policy("daily"), null);
        const got = await catalog.getPolicy("v1", "daily");
        expect(got).toStrictEqual(policy("daily"));
        expect(got.definition).toStrictEqual(DEFINITION);
      });

      it("rejects a second create with AlreadyExistsError and keeps the original", async () => {
        await catalog.putPolicy(policy("daily"), null);
        const impostor = policy("daily", { definition: { name: "impostor" }, created: 5 });
        await expect(catalog.putPolicy(impostor, null)).rejects.toBeInstanceOf(AlreadyExistsError);
        expect(await catalog.getPolicy("v1", "daily")).toStrictEqual(policy("daily"));
      });

      it("updates a policy conditional on its stored version", async () => {
        await catalog.putPolicy(policy("daily"), null);
        const v2 = revised(policy("daily"), { ...DEFINITION, snapshotRetentionDays: 5 });
        await catalog.putPolicy(v2, 1);
        expect(await catalog.getPolicy("v1", "daily")).toStrictEqual(v2);
        const v3 = revised(v2, { name: "daily", schedule: { kind: "daily", times: ["00:00"] } });
        await catalog.putPolicy(v3, 2);
        expect(await catalog.getPolicy("v1", "daily")).toStrictEqual(v3);
      });

      it("rejects an update against a stale or future version with ConflictError, writing nothing", async () => {
        await catalog.putPolicy(policy("daily"), null);
        const v2 = revised(policy("daily"), { name: "v2" });
        await catalog.putPolicy(v2, 1);
        // Another writer that also read version 1.
        const stale = revised(policy("daily"), { name: "stale" });
        await expect(catalog.putPolicy(stale, 1)).rejects.toBeInstanceOf(ConflictError);
        const ahead = { ...revised(v2, { name: "ahead" }), version: 6 };
        await expect(catalog.putPolicy(ahead, 5)).rejects.toBeInstanceOf(ConflictError);
        expect(await catalog.getPolicy("v1", "daily")).toStrictEqual(v2);
      });

      it("rejects an update of a missing policy with NotFoundError, creating nothing", async () => {
        await catalog.putPolicy(policy("daily"), null);
        const ghost = revised(policy("ghost"), { name: "ghost" });
        await expect(catalog.putPolicy(ghost, 1)).rejects.toBeInstanceOf(NotFoundError);
        await expect(
          catalog.putPolicy(revised(policy("daily", { vaultId: "v2" }), {}), 1),
        ).rejects.toBeInstanceOf(NotFoundError);
        expect(names(await catalog.listPolicies("v1"))).toStrictEqual(["daily"]);
        expect(await catalog.listPolicies("v2")).toStrictEqual([]);
      });

      it("deletes a policy conditional on its stored version", async () => {
        await catalog.putPolicy(policy("daily"), null);
        await catalog.putPolicy(policy("weekly"), null);
        await expect(catalog.deletePolicy("v1", "daily", 2)).rejects.toBeInstanceOf(ConflictError);
        expect(await catalog.getPolicy("v1", "daily")).toStrictEqual(policy("daily"));
        await catalog.deletePolicy("v1", "daily", 1);
        await expect(catalog.getPolicy("v1", "daily")).rejects.toBeInstanceOf(NotFoundError);
        await expect(catalog.deletePolicy("v1", "daily", 1)).rejects.toBeInstanceOf(NotFoundError);
        expect((await catalog.listPolicies("v1")).map((p) => p.name)).toEqual(["weekly"]);
        // The name is free again.
        await catalog.putPolicy(policy("daily"), null);
      });

      it("rejects a missing policy with NotFoundError naming it", async () => {
        await catalog.putPolicy(policy("daily"), null);
        const err = await catalog.getPolicy("v1", "nopolicy").catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as Error).message).toContain("nopolicy");
        await expect(catalog.getPolicy("v2", "daily")).rejects.toBeInstanceOf(NotFoundError);
        await expect(catalog.getPolicy("ghost", "daily")).rejects.toBeInstanceOf(NotFoundError);
      });

      it("lists a vault's policies sorted by name, and only that vault's", async () => {
        for (const name of ["weekly", "Archive", "daily", "daily-2"])
          await catalog.putPolicy(policy(name), null);
        await catalog.putPolicy(policy("hourly", { vaultId: "v2" }), null);
        expect(names(await catalog.listPolicies("v1"))).toStrictEqual([
          "Archive",
          "daily",
          "daily-2",
          "weekly",
        ]);
        expect(await catalog.listPolicies("v2")).toStrictEqual([policy("hourly", { vaultId: "v2" })]);
        expect(await catalog.listPolicies("ghost")).toStrictEqual([]);
      });

      it("lists policies as stored, updates included", async () => {
        await catalog.putPolicy(policy("a"), null);
        await catalog.putPolicy(policy("b"), null);
        const b2 = revised(policy("b"), { name: "b", changed: true });
        await catalog.putPolicy(b2, 1);
        expect(await catalog.listPolicies("v1")).toStrictEqual([policy("a"), b2]);
      });

      it("scopes policy names to their vault", async () => {
        await catalog.putPolicy(policy("daily"), null);
        const other = policy("daily", { vaultId: "v2", definition: { name: "other" } });
        await catalog.putPolicy(other, null);
        await catalog.putPolicy(revised(other, { name: "other v2" }), 1);
        expect(await catalog.getPolicy("v1", "daily")).toStrictEqual(policy("daily"));
        expect((await catalog.getPolicy("v2", "daily")).definition).toStrictEqual({ name: "other v2" });
      });
    });

    describe("settings", () => {
      it("returns the defaults, version 0, for a vault that never wrote any", async () => {
        expect(await catalog.getSettings("v1")).toStrictEqual(defaultSettings("v1"));
        expect(await catalog.getSettings("v2")).toStrictEqual(defaultSettings("v2"));
      });

      it("rejects the settings of a missing vault with NotFoundError naming it", async () => {
        const err = await catalog.getSettings("ghost").catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as Error).message).toContain("ghost");
      });

      it("writes conditional on the stored version, 0 for the defaults, and round-trips", async () => {
        await catalog.putSettings(settings(1), 0);
        expect(await catalog.getSettings("v1")).toStrictEqual(settings(1));
        const locked = settings(2, { lock: LockState.Locked, softDeleteEnabled: true, softDeleteDays: 180 });
        await catalog.putSettings(locked, 1);
        expect(await catalog.getSettings("v1")).toStrictEqual(locked);
        const back = { ...defaultSettings("v1"), version: 3 };
        await catalog.putSettings(back, 2);
        expect(await catalog.getSettings("v1")).toStrictEqual(back);
      });

      it("rejects a stale or future version with ConflictError, writing nothing", async () => {
        await expect(catalog.putSettings(settings(2), 1)).rejects.toBeInstanceOf(ConflictError);
        expect(await catalog.getSettings("v1")).toStrictEqual(defaultSettings("v1"));
        await catalog.putSettings(settings(1), 0);
        // Another writer that also read the defaults.
        const stale = settings(1, { lock: LockState.Unlocked, softDeleteAlwaysOn: false });
        await expect(catalog.putSettings(stale, 0)).rejects.toBeInstanceOf(ConflictError);
        await expect(catalog.putSettings(settings(8), 7)).rejects.toBeInstanceOf(ConflictError);
        expect(await catalog.getSettings("v1")).toStrictEqual(settings(1));
      });

      it("keeps each vault's settings apart", async () => {
        await catalog.putSettings(settings(1), 0);
        expect(await catalog.getSettings("v2")).toStrictEqual(defaultSettings("v2"));
        const other = settings(1, { vaultId: "v2", softDeleteDays: 60 });
        await catalog.putSettings(other, 0);
        expect(await catalog.getSettings("v1")).toStrictEqual(settings(1));
        expect(await catalog.getSettings("v2")).toStrictEqual(other);
      });
    });
  });
}

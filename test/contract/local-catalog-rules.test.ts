import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../../lib/errors.ts";
import { defaultSettings, type PolicyRecord, type VaultSettings } from "../../lib/model.ts";
import { useCatalogFile } from "../helpers/catalog-file.ts";
import { vault } from "./catalog-records.ts";
import { policy, settings } from "./catalog-rules.contract.ts";

// The SQLite catalog's policies and settings beyond the Catalog contract (which
// catalog-rules.contract.ts checks): foreign keys, validation, storage, two connections.

describe("SqliteCatalog policies and settings", () => {
  const { file: dbFile, catalogAt } = useCatalogFile("catalog-rules");

  it("refuses policy and settings writes for a vault that does not exist with NotFoundError", async () => {
    const catalog = catalogAt();
    await expect(catalog.putPolicy(policy("daily", { vaultId: "ghost" }), null)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(catalog.putSettings(settings(1, { vaultId: "ghost" }), 0)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(catalog.putSettings(settings(4, { vaultId: "ghost" }), 3)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(await catalog.listPolicies("ghost")).toStrictEqual([]);
  });

  it("refuses a malformed policy write with ValidationError, writing nothing", async () => {
    const catalog = catalogAt();
    await catalog.createVault(vault());
    const bad = (over: object) => ({ ...policy("p"), ...over }) as unknown as PolicyRecord;
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const refused: [PolicyRecord, number | null][] = [
      [bad({ version: 2 }), null],
      [bad({ version: 1 }), 1],
      [bad({ version: 0 }), -1],
      [bad({ version: 2.5 }), 1.5],
      [bad({ version: 2 }), "1" as unknown as number],
      [bad({ definition: ["daily"] }), null],
      [bad({ definition: null }), null],
      [bad({ definition: "daily" }), null],
      [bad({ definition: { big: 1n } }), null],
      [bad({ definition: cyclic }), null],
      [bad({ created: undefined }), null],
      [bad({ updated: "now" }), null],
      [bad({ name: undefined }), null],
      [bad({ vaultId: undefined }), null],
    ];
    for (const [record, expected] of refused) {
      await expect(
        catalog.putPolicy(record, expected),
        JSON.stringify(record.version),
      ).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await catalog.listPolicies("v1")).toStrictEqual([]);
    await catalog.putPolicy(policy("p"), null);
    await expect(catalog.putPolicy(bad({ version: 3 }), 1)).rejects.toBeInstanceOf(ValidationError);
    expect(await catalog.getPolicy("v1", "p")).toStrictEqual(policy("p"));
  });

  it("refuses malformed settings with ValidationError, writing nothing", async () => {
    const catalog = catalogAt();
    await catalog.createVault(vault());
    const bad = (over: object) => ({ ...settings(1), ...over }) as unknown as VaultSettings;
    const refused: [VaultSettings, number][] = [
      [bad({ version: 2 }), 0],
      [bad({ version: 0 }), -1],
      [bad({}), 0.5],
      [bad({}), null as unknown as number],
      [bad({ softDeleteEnabled: "yes" }), 0],
      [bad({ softDeleteAlwaysOn: 1 }), 0],
      [bad({ softDeleteEnabled: undefined }), 0],
      [bad({ lock: "LOCKED" }), 0],
      [bad({ lock: undefined }), 0],
      [bad({ softDeleteDays: "thirty" }), 0],
      [bad({ vaultId: undefined }), 0],
      [bad({ softDeleteDays: 30.5 }), 0],
    ];
    for (const [record, expected] of refused) {
      await expect(catalog.putSettings(record, expected)).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await catalog.getSettings("v1")).toStrictEqual(defaultSettings("v1"));
  });

  it("stores the flags as 0 or 1 and the definition as JSON text", async () => {
    const catalog = catalogAt();
    await catalog.createVault(vault());
    await catalog.putSettings(settings(1), 0);
    await catalog.putPolicy(policy("p", { definition: { a: [1, "x"] } }), null);
    const raw = new DatabaseSync(dbFile(), { readOnly: true });
    try {
      const row = raw.prepare("SELECT soft_delete_enabled, soft_delete_always_on FROM settings").get();
      expect({ ...row }).toStrictEqual({ soft_delete_enabled: 0, soft_delete_always_on: 1 });
      expect(raw.prepare("SELECT definition FROM policies").get()?.definition).toBe('{"a":[1,"x"]}');
    } finally {
      raw.close();
    }
  });

  it("keeps the conditional writes exact across two connections to one file", async () => {
    const a = catalogAt();
    const b = catalogAt();
    await a.createVault(vault());
    // Both writers read version 0 (the defaults) and version 1 of the policy; only the first lands.
    await a.putSettings(settings(1), 0);
    await expect(b.putSettings(settings(1, { softDeleteDays: 99 }), 0)).rejects.toBeInstanceOf(ConflictError);
    await a.putPolicy(policy("p"), null);
    await a.putPolicy({ ...policy("p"), version: 2, definition: { by: "a" } }, 1);
    await expect(
      b.putPolicy({ ...policy("p"), version: 2, definition: { by: "b" } }, 1),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await b.getSettings("v1")).toStrictEqual(settings(1));
    expect((await b.getPolicy("v1", "p")).definition).toStrictEqual({ by: "a" });
  });
});

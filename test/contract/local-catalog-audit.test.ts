import { describe, expect, it } from "vitest";
import type { SqliteCatalog } from "../../lib/adapters/local/sqlite-catalog.ts";
import { SCHEMA_VERSION } from "../../lib/adapters/local/sqlite-schema.ts";
import { BlockvaultError, NotFoundError, ValidationError } from "../../lib/errors.ts";
import { type AuditEntry, AuditOutcome } from "../../lib/model.ts";
import { useCatalogFile } from "../helpers/catalog-file.ts";
import { auditEntry } from "./catalog-audit.contract.ts";
import { vault } from "./catalog-records.ts";
import { policy } from "./catalog-rules.contract.ts";
import { CURRENT_TABLES, inspect, withRawDb, writeV2Catalog } from "./catalog-schema-v2.ts";

// The SQLite catalog's audit log beyond the Catalog contract (which catalog-audit.contract.ts
// checks): the schema itself keeps it append-only, validation, two connections, and migration.

/** Rows of vault `v1` as a version-2 catalog held them. */
const V2_ROWS = `
INSERT INTO vaults VALUES ('v1', 'main', 1700000000000, 1048576);
INSERT INTO policies VALUES ('v1', 'daily', 1, 1700000000000, 1700000000000, '{"name":"daily"}');
INSERT INTO settings VALUES ('v1', 30, 1, 0, 'enabled', 1);
`;

describe("SqliteCatalog audit log", () => {
  const { file: dbFile, catalogAt } = useCatalogFile("catalog-audit");

  /** A catalog with vaults v1 and v2 and three entries in v1's log (seq 1 to 3), and those entries. */
  async function withEntries(): Promise<{ catalog: SqliteCatalog; entries: AuditEntry[] }> {
    const catalog = catalogAt();
    await catalog.createVault(vault());
    await catalog.createVault(vault({ id: "v2", name: "other" }));
    const entries: AuditEntry[] = [];
    entries.push(await catalog.appendAudit(auditEntry()));
    entries.push(await catalog.appendAudit(auditEntry({ action: "point.delete", target: "p1" })));
    entries.push(await catalog.appendAudit(auditEntry({ outcome: AuditOutcome.Failed, detail: { n: 1 } })));
    return { catalog, entries };
  }

  it("refuses UPDATE and DELETE of audit rows, even in plain SQL on another connection", async () => {
    const { catalog, entries } = await withEntries();
    const refused = [
      "UPDATE audit SET outcome = 'succeeded' WHERE seq = 3",
      "UPDATE audit SET principal = 'mallory'",
      "UPDATE OR REPLACE audit SET seq = 1 WHERE seq = 3",
      "DELETE FROM audit WHERE vault_id = 'v1' AND seq = 2",
      "DELETE FROM audit",
    ];
    withRawDb(dbFile(), (db) => {
      for (const sql of refused) expect(() => db.exec(sql), sql).toThrow(/append-only/);
      // Inside a transaction too: the abort leaves the rows as they were.
      db.exec("BEGIN");
      expect(() => db.exec("DELETE FROM audit WHERE seq = 1")).toThrow(/append-only/);
      db.exec("COMMIT");
    });
    expect(await catalog.listAudit("v1")).toStrictEqual(entries);
  });

  it("refuses inserts that would overwrite an entry or leave a gap, even in plain SQL", async () => {
    const { catalog, entries } = await withEntries();
    const row = "'principal', 'policy.create', NULL, 'succeeded', NULL";
    const refused = [
      // REPLACE removes the old row without firing DELETE triggers: the insert check must stop it.
      `INSERT OR REPLACE INTO audit VALUES ('v1', 2, 5, ${row})`,
      `REPLACE INTO audit VALUES ('v1', 1, 5, ${row})`,
      `INSERT INTO audit VALUES ('v1', 3, 5, ${row}) ON CONFLICT DO UPDATE SET principal = 'mallory'`,
      `INSERT INTO audit VALUES ('v1', 5, 5, ${row})`,
      `INSERT INTO audit VALUES ('v2', 2, 5, ${row})`,
      `INSERT INTO audit VALUES ('v2', 0, 5, ${row})`,
    ];
    withRawDb(dbFile(), (db) => {
      for (const sql of refused) expect(() => db.exec(sql), sql).toThrow(/next seq/);
      // The next seq is what the catalog itself writes: allowed, and the log goes on from it.
      db.exec(`INSERT INTO audit VALUES ('v1', 4, 5, ${row})`);
    });
    expect(await catalog.listAudit("v1", { afterSeq: 3 })).toStrictEqual([
      { vaultId: "v1", seq: 4, at: 5, principal: "principal", action: "policy.create", outcome: "succeeded" },
    ]);
    expect(await catalog.listAudit("v1", { limit: 3 })).toStrictEqual(entries);
    expect((await catalog.appendAudit(auditEntry())).seq).toBe(5);
    expect(await catalog.listAudit("v2")).toStrictEqual([]);
  });

  it("refuses a malformed entry with ValidationError, appending nothing", async () => {
    const catalog = catalogAt();
    await catalog.createVault(vault());
    const bad = (over: object) => ({ ...auditEntry(), ...over }) as unknown as Omit<AuditEntry, "seq">;
    const malformed = [
      bad({ vaultId: undefined }),
      bad({ vaultId: 7 }),
      bad({ principal: undefined }),
      bad({ principal: "" }),
      bad({ principal: 42 }),
      bad({ action: undefined }),
      bad({ action: "" }),
      bad({ action: 7 }),
      bad({ outcome: "ok" }),
      bad({ outcome: undefined }),
      bad({ at: undefined }),
      bad({ at: 1.5 }),
      bad({ at: "yesterday" }),
      bad({ at: "1700000300000" }),
      bad({ target: 42 }),
      bad({ detail: null }),
      bad({ detail: "text" }),
      bad({ detail: ["a"] }),
      bad({ detail: { nested: { a: 1 } } }),
      bad({ detail: { list: [1] } }),
      bad({ detail: { none: null } }),
      bad({ detail: { nan: Number.NaN } }),
      bad({ detail: { inf: Number.POSITIVE_INFINITY } }),
      bad({ detail: { big: 1n } }),
    ];
    for (const entry of malformed) {
      await expect(
        catalog.appendAudit(entry),
        JSON.stringify(entry, (_, v) => String(v)),
      ).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await catalog.listAudit("v1")).toStrictEqual([]);
    expect((await catalog.appendAudit(auditEntry())).seq).toBe(1);
  });

  it("numbers appends from two connections to one file in one sequence, without gaps", async () => {
    const first = catalogAt();
    await first.createVault(vault());
    const second = catalogAt();
    const appended: AuditEntry[] = [];
    for (let i = 0; i < 6; i++) {
      const by = i % 3 === 0 ? first : second;
      appended.push(await by.appendAudit(auditEntry({ principal: by === first ? "first" : "second" })));
    }
    expect(appended.map((e) => e.seq)).toStrictEqual([1, 2, 3, 4, 5, 6]);
    expect(await first.listAudit("v1")).toStrictEqual(appended);
    expect(await second.listAudit("v1")).toStrictEqual(appended);
  });

  it("keeps the log across close and reopen", async () => {
    const { catalog, entries } = await withEntries();
    await catalog.close();
    const reopened = catalogAt();
    expect(await reopened.listAudit("v1")).toStrictEqual(entries);
    expect((await reopened.appendAudit(auditEntry())).seq).toBe(4);
  });

  describe("migration from schema version 2", () => {
    it("opens a version-2 catalog: keeps its records and gains an append-only audit log", async () => {
      writeV2Catalog(dbFile(), V2_ROWS);
      expect(inspect(dbFile()).version).toBe(2);
      const first = catalogAt();
      expect(SCHEMA_VERSION).toBe(8);
      expect(inspect(dbFile())).toStrictEqual({
        version: 8,
        tables: CURRENT_TABLES,
      });
      expect(await first.getVault("v1")).toStrictEqual(vault());
      expect(await first.getPolicy("v1", "daily")).toStrictEqual(
        policy("daily", { definition: { name: "daily" } }),
      );
      expect((await first.getSettings("v1")).lock).toBe("enabled");
      expect(await first.listAudit("v1")).toStrictEqual([]);

      expect(await first.appendAudit(auditEntry({ target: "daily" }))).toStrictEqual({
        ...auditEntry({ target: "daily" }),
        seq: 1,
      });
      await expect(first.appendAudit(auditEntry({ vaultId: "ghost" }))).rejects.toBeInstanceOf(NotFoundError);
      await first.close();

      const second = catalogAt();
      expect((await second.appendAudit(auditEntry())).seq).toBe(2);
      expect((await second.listAudit("v1")).map((e) => e.seq)).toStrictEqual([1, 2]);
      withRawDb(dbFile(), (db) => {
        expect(() => db.exec("DELETE FROM audit")).toThrow(/append-only/);
        expect(() => db.exec("UPDATE audit SET at = 0")).toThrow(/append-only/);
      });
      expect(inspect(dbFile()).version).toBe(SCHEMA_VERSION);
    });

    it("leaves a version-2 catalog as it was when its migration fails", async () => {
      // A stray trigger holding the name of the step's last one fails it after the audit table
      // and the other triggers were created: all of that must be rolled back.
      writeV2Catalog(
        dbFile(),
        `${V2_ROWS} CREATE TRIGGER audit_no_delete BEFORE DELETE ON vaults BEGIN SELECT 1; END;`,
      );
      expect(() => catalogAt()).toThrow(BlockvaultError);
      expect(inspect(dbFile())).toStrictEqual({
        version: 2,
        tables: ["disks", "jobs", "policies", "recovery_points", "settings", "vaults"],
      });
      const triggers = withRawDb(dbFile(), (db) =>
        db.prepare("SELECT name, tbl_name FROM sqlite_schema WHERE type = 'trigger'").all(),
      );
      expect(triggers.map((t) => ({ ...t }))).toStrictEqual([
        { name: "audit_no_delete", tbl_name: "vaults" },
      ]);
    });
  });
});

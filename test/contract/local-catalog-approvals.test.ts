import { describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../lib/adapters/local/sqlite-schema.ts";
import { BlockvaultError, ConflictError, NotFoundError, ValidationError } from "../../lib/errors.ts";
import { type ApprovalRecord, ApprovalState } from "../../lib/model.ts";
import { useCatalogFile } from "../helpers/catalog-file.ts";
import { approval } from "./catalog-approvals.contract.ts";
import { auditEntry } from "./catalog-audit.contract.ts";
import { vault } from "./catalog-records.ts";
import { CURRENT_TABLES, inspect, withRawDb } from "./catalog-schema-v2.ts";
import { writeV3Catalog } from "./catalog-schema-v3.ts";

// The SQLite catalog's approval requests beyond the Catalog contract (which
// catalog-approvals.contract.ts checks): validation, foreign keys, two connections, migration.

/** Rows of vault `v1` as a version-3 catalog held them. */
const V3_ROWS = `
INSERT INTO vaults VALUES ('v1', 'main', 1700000000000, 1048576);
INSERT INTO policies VALUES ('v1', 'daily', 1, 1700000000000, 1700000000000, '{"name":"daily"}');
INSERT INTO audit VALUES ('v1', 1, 1700000300000, 'alice', 'policy.create', 'daily', 'succeeded', NULL);
`;

const APPROVE = { state: ApprovalState.Approved, approver: "bob", approved: 1_700_000_500_000 };

describe("SqliteCatalog approval requests", () => {
  const { file: dbFile, catalogAt } = useCatalogFile("catalog-approvals");

  it("refuses a request for a vault that does not exist with NotFoundError", async () => {
    const catalog = catalogAt();
    await expect(catalog.createApproval(approval("a1", { vaultId: "ghost" }))).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(await catalog.listApprovals("ghost")).toStrictEqual([]);
  });

  it("refuses a malformed request with ValidationError, creating nothing", async () => {
    const catalog = catalogAt();
    await catalog.createVault(vault());
    const bad = (over: object) => ({ ...approval("a1"), ...over }) as unknown as ApprovalRecord;
    const malformed = [
      bad({ vaultId: undefined }),
      bad({ id: undefined }),
      bad({ id: 7 }),
      bad({ operation: undefined }),
      bad({ operation: "" }),
      bad({ paramsDigest: undefined }),
      bad({ paramsDigest: 42 }),
      bad({ requester: "" }),
      bad({ target: 42 }),
      bad({ created: undefined }),
      bad({ created: 1.5 }),
      bad({ expires: "1700086800000" }),
      bad({ state: undefined }),
      bad({ state: "APPROVED" }),
      bad({ approver: 7 }),
      bad({ approver: "" }),
      bad({ approved: "now" }),
      bad({ used: Number.NaN }),
    ];
    for (const record of malformed) {
      await expect(
        catalog.createApproval(record),
        JSON.stringify(record, (_, v) => String(v)),
      ).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await catalog.listApprovals("v1")).toStrictEqual([]);
  });

  it("refuses malformed updates and list queries with ValidationError, writing nothing", async () => {
    const catalog = catalogAt();
    await catalog.createVault(vault());
    await catalog.createApproval(approval("a1"));
    const refused: [object, unknown][] = [
      [{ state: "granted" }, ApprovalState.Pending],
      [{ state: undefined }, ApprovalState.Pending],
      [{ ...APPROVE, approver: 42 }, ApprovalState.Pending],
      [{ ...APPROVE, approved: 1.5 }, ApprovalState.Pending],
      [{ requester: "mallory" }, ApprovalState.Pending],
      [{ expires: 0 }, ApprovalState.Pending],
      [APPROVE, "PENDING"],
      [APPROVE, undefined],
    ];
    for (const [changes, expected] of refused) {
      await expect(
        catalog.updateApproval("v1", "a1", changes, expected as ApprovalState),
        JSON.stringify([changes, expected]),
      ).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await catalog.getApproval("v1", "a1")).toStrictEqual(approval("a1"));
    await expect(catalog.listApprovals("v1", { state: "granted" as ApprovalState })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it("refuses a state the rules do not know even in plain SQL", async () => {
    const catalog = catalogAt();
    await catalog.createVault(vault());
    await catalog.createApproval(approval("a1"));
    withRawDb(dbFile(), (db) => {
      expect(() => db.exec("UPDATE approvals SET state = 'APPROVED'")).toThrow(/CHECK/);
    });
    expect(await catalog.getApproval("v1", "a1")).toStrictEqual(approval("a1"));
  });

  it("lets exactly one of two connections approve a pending request", async () => {
    const a = catalogAt();
    const b = catalogAt();
    await a.createVault(vault());
    await a.createApproval(approval("a1"));
    // Both read it pending; the second approval is refused and the first stands.
    await a.updateApproval("v1", "a1", APPROVE, ApprovalState.Pending);
    await expect(
      b.updateApproval("v1", "a1", { ...APPROVE, approver: "carol" }, ApprovalState.Pending),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await b.getApproval("v1", "a1")).toStrictEqual(approval("a1", APPROVE));
    // The listing order survives reopening: commit order breaks ties of `created`.
    await b.createApproval(approval("a2"));
    await a.close();
    expect((await catalogAt().listApprovals("v1")).map((r) => r.id)).toStrictEqual(["a2", "a1"]);
  });

  describe("migration from schema version 3", () => {
    it("opens a version-3 catalog: keeps its records and audit log and gains approvals", async () => {
      writeV3Catalog(dbFile(), V3_ROWS);
      expect(inspect(dbFile()).version).toBe(3);
      const first = catalogAt();
      expect(SCHEMA_VERSION).toBe(8);
      expect(inspect(dbFile())).toStrictEqual({
        version: 8,
        tables: CURRENT_TABLES,
      });
      expect(await first.getVault("v1")).toStrictEqual(vault());
      expect((await first.getPolicy("v1", "daily")).definition).toStrictEqual({ name: "daily" });
      expect(await first.listAudit("v1")).toStrictEqual([{ ...auditEntry({ target: "daily" }), seq: 1 }]);
      expect(await first.listApprovals("v1")).toStrictEqual([]);

      await first.createApproval(approval("a1"));
      await first.updateApproval("v1", "a1", APPROVE, ApprovalState.Pending);
      expect((await first.appendAudit(auditEntry({ action: "approval.approve" }))).seq).toBe(2);
      await first.close();

      const second = catalogAt();
      expect(await second.getApproval("v1", "a1")).toStrictEqual(approval("a1", APPROVE));
      withRawDb(dbFile(), (db) => {
        expect(() => db.exec("DELETE FROM audit")).toThrow(/append-only/);
      });
      expect(inspect(dbFile()).version).toBe(SCHEMA_VERSION);
    });

    it("leaves a version-3 catalog as it was when its migration fails", async () => {
      // A stray index holding the name of the step's index fails it after the table was created.
      writeV3Catalog(dbFile(), `${V3_ROWS} CREATE INDEX approvals_by_vault ON audit (at);`);
      expect(() => catalogAt()).toThrow(BlockvaultError);
      expect(inspect(dbFile())).toStrictEqual({
        version: 3,
        tables: ["audit", "disks", "jobs", "policies", "recovery_points", "settings", "vaults"],
      });
    });
  });
});

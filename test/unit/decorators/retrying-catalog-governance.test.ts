import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteCatalog, type SqliteCatalog } from "../../../lib/adapters/local/sqlite-catalog.ts";
import { retryingCatalog } from "../../../lib/decorators/retrying-catalog.ts";
import { ConflictError, TransientError } from "../../../lib/errors.ts";
import { ApprovalState } from "../../../lib/model.ts";
import type { Catalog } from "../../../lib/ports/catalog.ts";
import { approval } from "../../contract/catalog-approvals.contract.ts";
import { vault } from "../../contract/catalog-records.ts";
import { FaultScript, instantPolicy, withFaults } from "./fakes.ts";

const entry = {
  vaultId: "v1",
  at: 1,
  principal: "alice",
  action: "point.delete",
  outcome: "succeeded",
} as const;

describe("Catalog audit and approvals over a flaky SqliteCatalog", () => {
  let inner: SqliteCatalog;
  let script: FaultScript;
  let catalog: Catalog;
  beforeEach(async () => {
    inner = openSqliteCatalog(":memory:");
    await inner.createVault(vault());
    script = new FaultScript();
    catalog = retryingCatalog(withFaults(inner, script), instantPolicy());
  });
  afterEach(async () => {
    await inner.close();
  });

  it("never retries an audit append: a lost reply must not become a second, false entry", async () => {
    script.fail("appendAudit", "after");
    await expect(catalog.appendAudit(entry)).rejects.toBeInstanceOf(TransientError);
    expect(script.count("appendAudit")).toBe(1);
    expect(await inner.listAudit("v1")).toHaveLength(1);
    script.fail("listAudit", "before");
    expect(await catalog.listAudit("v1")).toHaveLength(1);
    expect(script.count("listAudit")).toBe(2);
  });

  it("takes an approval whose first write landed as approved; someone else's approval stands", async () => {
    await inner.createApproval(approval("a1"));
    const changes = { state: ApprovalState.Approved, approver: "sam", approved: 5 };
    script.fail("updateApproval", "after");
    expect(await catalog.updateApproval("v1", "a1", changes, ApprovalState.Pending)).toMatchObject(changes);
    expect(script.count("updateApproval")).toBe(2);
    await inner.createApproval(approval("a2"));
    await inner.updateApproval("v1", "a2", { ...changes, approver: "bob" }, ApprovalState.Pending);
    script.fail("updateApproval", "before");
    await expect(catalog.updateApproval("v1", "a2", changes, ApprovalState.Pending)).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  it("retries an approval request's creation, accepting its own landed write", async () => {
    script.fail("createApproval", "after");
    await catalog.createApproval(approval("a3"));
    expect(script.count("createApproval")).toBe(2);
    expect(await inner.getApproval("v1", "a3")).toMatchObject({ id: "a3", state: "pending" });
  });
});

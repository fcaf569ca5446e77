import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDocumentClient } from "../../lib/adapters/aws/clients.ts";
import { openDynamoCatalog } from "../../lib/adapters/aws/dynamo/catalog.ts";
import { createCatalogTable } from "../../lib/adapters/aws/dynamo/table.ts";
import { ConflictError } from "../../lib/errors.ts";
import { ApprovalState, PointState } from "../../lib/model.ts";
import type { Catalog } from "../../lib/ports/catalog.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { approval } from "./catalog-approvals.contract.ts";
import { auditEntry } from "./catalog-audit.contract.ts";
import { disk, job, point, vault } from "./catalog-records.ts";
import { policy, settings } from "./catalog-rules.contract.ts";

// Catalog beyond the Catalog contract: the single-table design's own promises (no Scan, the
// disk head kept exact, names that cannot collide in composite keys, what an item holds). One
// table for the file; each test works in vaults of its own.

describe("DynamoCatalog single-table design", () => {
  const tableName = uniqueName("catalog-design");
  const client = dynamoDocumentClient(emulatorConfig());
  /** Names of the commands the catalog's client sent, in order. */
  const sent: string[] = [];
  let catalog: Catalog;
  beforeAll(async () => {
    await createCatalogTable(client, tableName);
    const stack = client.middlewareStack as unknown as {
      add(
        mw: (next: (a: unknown) => unknown, ctx: { commandName: string }) => (a: unknown) => unknown,
        o: object,
      ): void;
    };
    stack.add(
      (next, ctx) => (args) => {
        sent.push(ctx.commandName);
        return next(args);
      },
      { step: "initialize" },
    );
    catalog = openDynamoCatalog({ tableName, client });
  });
  afterAll(async () => {
    await catalog.close();
    await client.send(new DeleteTableCommand({ TableName: tableName }));
    client.destroy();
  });

  /** A new vault with disk d1 registered; its id. */
  async function newVault(): Promise<string> {
    const id = uniqueName("v");
    await catalog.createVault(vault({ id }));
    await catalog.putDisk(disk({ vaultId: id }));
    return id;
  }
  const ids = (points: readonly { id: string }[]) => points.map((p) => p.id);

  it("serves every method without a Scan", async () => {
    sent.length = 0;
    const v = await newVault();
    await catalog.getVault(v);
    await catalog.getDisk(v, "d1");
    await catalog.listDisks(v);
    await catalog.commitRecoveryPoint(point("p1", { vaultId: v }), null);
    await catalog.getRecoveryPoint(v, "p1");
    await catalog.listRecoveryPoints(v);
    await catalog.listRecoveryPoints(v, "d1");
    await catalog.latestRecoveryPoint(v, "d1");
    await catalog.updateRecoveryPoint(v, "p1", { state: PointState.SoftDeleted });
    await catalog.createJob(job("j1", { vaultId: v, disk: "d1" }));
    await catalog.getJob(v, "j1");
    await catalog.updateJob(v, "j1", { attempts: 2 });
    for (const query of [
      {},
      { status: "running" as const },
      { disk: "d1" },
      { disk: "d1", status: "running" as const },
    ])
      await catalog.listJobs(v, query);
    await catalog.putPolicy(policy("daily", { vaultId: v }), null);
    await catalog.getPolicy(v, "daily");
    await catalog.listPolicies(v);
    await catalog.putSettings(settings(1, { vaultId: v }), 0);
    await catalog.getSettings(v);
    await catalog.createApproval(approval("a1", { vaultId: v }));
    await catalog.getApproval(v, "a1");
    await catalog.listApprovals(v, { state: ApprovalState.Pending });
    await catalog.updateApproval(
      v,
      "a1",
      { state: ApprovalState.Approved, approver: "bob", approved: 1 },
      ApprovalState.Pending,
    );
    await catalog.appendAudit(auditEntry({ vaultId: v }));
    await catalog.listAudit(v, { principal: "alice", action: "policy.create", afterSeq: 0, limit: 5 });
    expect(sent.length).toBeGreaterThan(30);
    expect(sent.filter((name) => /scan/i.test(name))).toStrictEqual([]);
  });

  it("keeps the newer point as the head when an older-dated point is committed after it", async () => {
    const v = await newVault();
    await catalog.commitRecoveryPoint(point("new", { vaultId: v, created: 2000 }), null);
    await catalog.commitRecoveryPoint(point("old", { vaultId: v, created: 1000 }), "new");
    expect((await catalog.latestRecoveryPoint(v, "d1"))?.id).toBe("new");
    expect(ids(await catalog.listRecoveryPoints(v, "d1"))).toStrictEqual(["new", "old"]);
    await expect(
      catalog.commitRecoveryPoint(point("x", { vaultId: v, created: 3000 }), "old"),
    ).rejects.toBeInstanceOf(ConflictError);
    // Deleting the head falls back to the older-dated point, committed later.
    await catalog.updateRecoveryPoint(v, "new", { state: PointState.SoftDeleted });
    expect((await catalog.latestRecoveryPoint(v, "d1"))?.id).toBe("old");
  });

  it("moves the head back and forth as the newest point is soft-deleted and restored", async () => {
    const v = await newVault();
    let parent: string | null = null;
    for (const [i, id] of ["p1", "p2", "p3"].entries()) {
      await catalog.commitRecoveryPoint(point(id, { vaultId: v, created: i }), parent);
      parent = id;
    }
    const latest = async () => (await catalog.latestRecoveryPoint(v, "d1"))?.id;
    await catalog.updateRecoveryPoint(v, "p3", { state: PointState.SoftDeleted, deleteAfter: 9 });
    expect(await latest()).toBe("p2");
    await catalog.updateRecoveryPoint(v, "p2", { state: PointState.SoftDeleted });
    expect(await latest()).toBe("p1");
    // Restoring a point newer than the head makes it the head…
    await catalog.updateRecoveryPoint(v, "p2", { state: PointState.Available });
    expect(await latest()).toBe("p2");
    await catalog.updateRecoveryPoint(v, "p3", { state: PointState.Available, deleteAfter: undefined });
    expect(await latest()).toBe("p3");
    // …restoring an older one leaves it alone, and commits must name the head.
    await catalog.updateRecoveryPoint(v, "p1", { state: PointState.SoftDeleted });
    await catalog.updateRecoveryPoint(v, "p1", { state: PointState.Available });
    expect(await latest()).toBe("p3");
    await expect(
      catalog.commitRecoveryPoint(point("p4", { vaultId: v, created: 9 }), "p1"),
    ).rejects.toBeInstanceOf(ConflictError);
    await catalog.commitRecoveryPoint(point("p4", { vaultId: v, created: 9 }), "p3");
    for (const id of ["p4", "p3", "p2", "p1"])
      await catalog.updateRecoveryPoint(v, id, { state: PointState.SoftDeleted });
    expect(await latest()).toBeUndefined();
    await catalog.commitRecoveryPoint(point("p5", { vaultId: v, created: 10 }), null);
    expect(await latest()).toBe("p5");
  });

  it("keeps names apart that share a prefix or hold the key separators # and %", async () => {
    const v = await newVault();
    const names = ["x", "x#1", "x%231", "x#PD#y", "%", "#"];
    for (const [i, name] of names.entries()) {
      await catalog.commitRecoveryPoint(point(`p${i}`, { vaultId: v, disk: name }), null);
      await catalog.createJob(job(`j${i}`, { vaultId: v, disk: name, status: "queued" }));
    }
    for (const [i, name] of names.entries()) {
      expect(ids(await catalog.listRecoveryPoints(v, name)), name).toStrictEqual([`p${i}`]);
      expect(ids(await catalog.listJobs(v, { disk: name })), name).toStrictEqual([`j${i}`]);
      expect((await catalog.latestRecoveryPoint(v, name))?.id).toBe(`p${i}`);
    }
    await catalog.putPolicy(policy("a#b", { vaultId: v }), null);
    expect((await catalog.listPolicies(v)).map((p) => p.name)).toStrictEqual(["a#b"]);
  });

  it("stores absent optional fields as absent attributes and detail as JSON text", async () => {
    const v = await newVault();
    await catalog.createJob(job("bare", { vaultId: v }));
    await catalog.createJob(job("full", { vaultId: v, detail: { slot: 3, note: "" } }));
    const raw = async (sk: string) =>
      (await client.send(new GetCommand({ TableName: tableName, Key: { pk: `V#${v}`, sk } }))).Item ?? {};
    const bare = await raw("JOB#bare");
    for (const field of ["disk", "recoveryPoint", "ended", "error", "detail", "lsi3"])
      expect(bare).not.toHaveProperty(field);
    expect((await raw("JOB#full")).detail).toBe('{"slot":3,"note":""}');
    await catalog.updateJob(v, "full", { detail: undefined });
    expect(await raw("JOB#full")).not.toHaveProperty("detail");
  });
});

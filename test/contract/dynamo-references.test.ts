import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, describe, expect, it } from "vitest";
import { dynamoDocumentClient } from "../../lib/adapters/aws/clients.ts";
import { openDynamoCatalog } from "../../lib/adapters/aws/dynamo/catalog.ts";
import { DynamoReferenceStore } from "../../lib/adapters/aws/dynamo/references.ts";
import { createCatalogTable } from "../../lib/adapters/aws/dynamo/table.ts";
import { NotFoundError } from "../../lib/errors.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { point, vault } from "./catalog-records.ts";
import { describeReferenceStoreContract } from "./references.contract.ts";

// The ReferenceStore contract against DynamoReferenceStore on the emulator. One table serves the
// whole file (creating one per test is slow); each test gets a vault of its own in it, created
// through the catalog, as `blockvault init` does.

const client = dynamoDocumentClient(emulatorConfig());
const tableName = uniqueName("references");
/** Names of the commands the shared client sent, in order. */
const sent: string[] = [];
(
  client.middlewareStack as unknown as {
    add(
      mw: (next: (a: unknown) => unknown, ctx: { commandName: string }) => (a: unknown) => unknown,
      o: object,
    ): void;
  }
).add(
  (next, ctx) => (args) => {
    sent.push(ctx.commandName);
    return next(args);
  },
  { step: "initialize" },
);
// moto quirk: its server handles requests on threads without isolating a conditional update's
// check from its write, so two racing updates of one item can both pass their conditions (the
// hold-versus-kill race then has two winners). DynamoDB makes each request atomic; one request in
// flight at a time restores that here, while the calls' requests still interleave in any order.
let gateTail: Promise<unknown> = Promise.resolve();
(
  client.middlewareStack as unknown as {
    add(mw: (next: (a: unknown) => Promise<unknown>) => (a: unknown) => Promise<unknown>, o: object): void;
  }
).add(
  (next) => (args) => {
    const result = gateTail.then(
      () => next(args),
      () => next(args),
    );
    gateTail = result.catch(() => undefined);
    return result;
  },
  { step: "finalizeRequest", name: "motoGate" },
);
let created: Promise<unknown> | undefined;

/** The shared table, created on first use. */
function table(): Promise<unknown> {
  created ??= createCatalogTable(client, tableName);
  return created;
}

/** A catalog and a reference store on the shared table, with a fresh vault `vaultId`. */
async function fresh() {
  await table();
  const catalog = openDynamoCatalog({ tableName, client });
  const vaultId = uniqueName("v");
  await catalog.createVault(vault({ id: vaultId }));
  return { catalog, refs: new DynamoReferenceStore({ tableName, client }), vaultId };
}

afterAll(async () => {
  if (created) await client.send(new DeleteTableCommand({ TableName: tableName }));
  client.destroy();
});

describeReferenceStoreContract("DynamoReferenceStore (emulator)", async () => {
  const { catalog, refs, vaultId } = await fresh();
  return { refs, vaultId, cleanup: () => catalog.close() };
});

describe("DynamoReferenceStore beside the catalog in one table", () => {
  it("serves every method with single-item writes and Queries: no Scan, no transaction", async () => {
    const { catalog, refs, vaultId: v } = await fresh();
    sent.length = 0;
    await refs.track(v);
    await refs.isTracking(v);
    await refs.registerPacks(v, ["p1", "p2"], 1);
    await refs.setPackIndex(v, ["p1", "p2"], "i1");
    await refs.holdPack(v, "p1", ["s1"]);
    await refs.holdSegment(v, "s1", ["d/0/a"], ["p1"]);
    await refs.getSegment(v, "s1");
    await refs.releaseSegment(v, "s1", ["d/0/a"]);
    await refs.killSegment(v, "s1");
    await refs.listDeadSegments(v);
    await refs.releasePack(v, "p1", ["s1"]);
    await refs.condemnPack(v, "p1", 2);
    await refs.packsOfIndex(v, "i1");
    await refs.listPacks(v, "condemned");
    await refs.markPackDeleted(v, "p1", 3);
    await refs.listPacks(v, "deleted");
    await refs.getPack(v, "p1");
    await refs.dropPack(v, "p1");
    await refs.dropSegment(v, "s1");
    await refs.setPointRelease(v, "pt1", "releasing");
    await refs.pointReleases(v);
    await refs.setPointRelease(v, "pt1", undefined);
    await refs.acquireLease(v, "gc", "me", 10, 0);
    await refs.releaseLease(v, "gc", "me");
    expect(sent.length).toBeGreaterThan(25);
    expect(new Set(sent)).toStrictEqual(
      new Set(["GetItemCommand", "PutItemCommand", "UpdateItemCommand", "DeleteItemCommand", "QueryCommand"]),
    );
    await catalog.close();
  });

  it("frees a lease without deleting anything, as the backup role must (fault injection: an IAM deny)", async () => {
    const { catalog, vaultId: v } = await fresh();
    const denied = dynamoDocumentClient(emulatorConfig());
    (
      denied.middlewareStack as unknown as {
        add(
          mw: (
            next: (a: unknown) => Promise<unknown>,
            ctx: { commandName: string },
          ) => (a: unknown) => Promise<unknown>,
          o: object,
        ): void;
      }
    ).add(
      (next, ctx) => async (args) => {
        if (ctx.commandName === "DeleteItemCommand") {
          throw Object.assign(new Error("not authorized to perform: dynamodb:DeleteItem"), {
            name: "AccessDeniedException",
            $metadata: { httpStatusCode: 400 },
          });
        }
        return next(args);
      },
      { step: "initialize" },
    );
    const refs = new DynamoReferenceStore({ tableName, client: denied });
    expect(await refs.acquireLease(v, "reclaim", "backup-a", 60_000, 0)).toBe(true);
    await refs.releaseLease(v, "reclaim", "backup-a");
    expect(await refs.acquireLease(v, "reclaim", "reclaim-b", 60_000, 1)).toBe(true);
    denied.destroy();
    await catalog.close();
  });

  it("forgets a dead segment without deleting it when the caller may not delete (fault injection: an IAM deny)", async () => {
    const { catalog, vaultId: v } = await fresh();
    const denied = dynamoDocumentClient(emulatorConfig());
    (
      denied.middlewareStack as unknown as {
        add(
          mw: (
            next: (a: unknown) => Promise<unknown>,
            ctx: { commandName: string },
          ) => (a: unknown) => Promise<unknown>,
          o: object,
        ): void;
      }
    ).add(
      (next, ctx) => async (args) => {
        if (ctx.commandName === "DeleteItemCommand") {
          throw Object.assign(new Error("not authorized to perform: dynamodb:DeleteItem"), {
            name: "AccessDeniedException",
            $metadata: { httpStatusCode: 400 },
          });
        }
        return next(args);
      },
      { step: "initialize" },
    );
    const refs = new DynamoReferenceStore({ tableName, client: denied });
    await refs.holdSegment(v, "s1", ["d/0/a"], ["p1"]);
    await refs.releaseSegment(v, "s1", ["d/0/a"]);
    expect(await refs.killSegment(v, "s1")).toBe(true);
    await refs.dropSegment(v, "s1");
    expect(await refs.getSegment(v, "s1")).toBeUndefined();
    expect(await refs.listDeadSegments(v)).toEqual([]);
    expect(await refs.releaseSegment(v, "s1", ["x"])).toBeUndefined();
    expect(await refs.killSegment(v, "s1")).toBe(false);
    // The same content held again starts afresh, with the packs of its new creator.
    expect(await refs.holdSegment(v, "s1", ["d/0/b"], ["p2"])).toStrictEqual({
      id: "s1",
      state: "live",
      holders: ["d/0/b"],
      packs: ["p2"],
    });
    denied.destroy();
    await catalog.close();
  });

  it("refuses to track a vault that does not exist", async () => {
    const { catalog, refs } = await fresh();
    await expect(refs.track("no-such-vault")).rejects.toBeInstanceOf(NotFoundError);
    expect(await refs.isTracking("no-such-vault")).toBe(false);
    await catalog.close();
  });

  it("keeps vaults apart, and out of the catalog's listings that share its indexes", async () => {
    const a = await fresh();
    const b = await fresh();
    await a.catalog.commitRecoveryPoint(point("pt1", { vaultId: a.vaultId }), null);
    await a.refs.registerPacks(a.vaultId, ["p1"], 1);
    await a.refs.setPackIndex(a.vaultId, ["p1"], "i1");
    await a.refs.condemnPack(a.vaultId, "p1", 2);
    await a.refs.holdSegment(a.vaultId, "s1", [], ["p1"]);
    await a.refs.killSegment(a.vaultId, "s1");
    await a.refs.setPointRelease(a.vaultId, "pt1", "released");
    expect((await a.catalog.listRecoveryPoints(a.vaultId)).map((p) => p.id)).toEqual(["pt1"]);
    expect(await a.catalog.listJobs(a.vaultId)).toEqual([]);
    expect(await a.catalog.listApprovals(a.vaultId)).toEqual([]);
    expect(await b.refs.listPacks(b.vaultId, "condemned")).toEqual([]);
    expect(await b.refs.listDeadSegments(b.vaultId)).toEqual([]);
    expect(await b.refs.pointReleases(b.vaultId)).toEqual(new Map());
    expect((await a.refs.listPacks(a.vaultId, "condemned")).map((p) => p.id)).toEqual(["p1"]);
    await a.catalog.close();
    await b.catalog.close();
  });

  it("leaves a pack's index out of lsi2 once condemned, and drops a holder set that lost its last member", async () => {
    const { catalog, refs, vaultId } = await fresh();
    await refs.registerPacks(vaultId, ["p1", "p2"], 1);
    await refs.setPackIndex(vaultId, ["p1", "p2"], "i#1");
    await refs.holdPack(vaultId, "p1", ["s1"]);
    await refs.releasePack(vaultId, "p1", ["s1"]);
    // condemnPack's condition relies on it: a set that loses its last member is removed.
    const { Item } = await client.send(
      new GetCommand({
        TableName: tableName,
        Key: { pk: `V#${vaultId}`, sk: "PACKREF#p1" },
        ConsistentRead: true,
      }),
    );
    expect(Item).toBeDefined();
    expect(Item).not.toHaveProperty("holders");
    expect(await refs.condemnPack(vaultId, "p1", 3)).toBe(true);
    const { Items } = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: "lsi2",
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": `V#${vaultId}` },
        ConsistentRead: true,
      }),
    );
    expect(Items?.map((i) => i.sk)).toEqual(["PACKREF#p2"]);
    expect((await refs.packsOfIndex(vaultId, "i#1")).map((p) => p.id)).toEqual(["p2"]);
    expect(await refs.packsOfIndex(vaultId, "i")).toEqual([]);
    await catalog.close();
  });
});

import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDocumentClient } from "../../lib/adapters/aws/clients.ts";
import { openDynamoCatalog } from "../../lib/adapters/aws/dynamo/catalog.ts";
import { createCatalogTable } from "../../lib/adapters/aws/dynamo/table.ts";
import { ConflictError } from "../../lib/errors.ts";
import { ApprovalState, PointState, type RecoveryPointRecord } from "../../lib/model.ts";
import type { Catalog } from "../../lib/ports/catalog.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { approval } from "./catalog-approvals.contract.ts";
import { auditEntry } from "./catalog-audit.contract.ts";
import { disk, point, vault } from "./catalog-records.ts";

// Catalog under concurrent writers, each with a client of its own as separate processes
// would have: the conditional writes and transactions must let exactly one racer win where the
// contract says so, and lose nothing. One table for the file; each test uses its own vault ids.
//
// moto quirk: its TransactWriteItems is not isolated from concurrent requests. A cancelled
// transaction rolls back by restoring a copy of the whole table taken when it started, wiping
// whatever other requests committed meanwhile, and its condition checks and writes interleave with
// theirs. So every writer's requests pass one gate, one request in flight at a time: the calls'
// requests still interleave in any order (the races under test), while each request is atomic,
// as DynamoDB guarantees and threaded moto does not.

/** Lets one request through at a time, in arrival order, counting the transactions. */
class Gate {
  #tail: Promise<unknown> = Promise.resolve();
  /** TransactWriteItems requests sent so far. */
  transactions = 0;

  run<T>(call: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(call, call);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/** A catalog whose client sends each request through `gate`. */
function gatedCatalog(tableName: string, gate: Gate): Catalog {
  const client = dynamoDocumentClient(emulatorConfig());
  const stack = client.middlewareStack as unknown as {
    add(
      mw: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      opts: object,
    ): void;
  };
  stack.add(
    (next, context) => (args) => {
      if (context.commandName?.startsWith("TransactWrite")) gate.transactions++;
      return gate.run(() => next(args));
    },
    { step: "finalizeRequest", name: "motoGate" },
  );
  return openDynamoCatalog({ tableName, client });
}

const WRITERS = 8;

describe("DynamoCatalog under concurrent writers", () => {
  const tableName = uniqueName("catalog-race");
  const admin = dynamoDocumentClient(emulatorConfig());
  let writers: Catalog[];
  let gate: Gate;
  beforeAll(async () => {
    await createCatalogTable(admin, tableName);
    gate = new Gate();
    writers = Array.from({ length: WRITERS }, () => gatedCatalog(tableName, gate));
  });
  afterAll(async () => {
    for (const writer of writers) await writer.close();
    await admin.send(new DeleteTableCommand({ TableName: tableName }));
    admin.destroy();
  });
  const first = () => writers[0]!;
  const newVault = async () => {
    const id = uniqueName("v");
    await first().createVault(vault({ id }));
    return id;
  };

  it("numbers concurrent audit appends 1..n without gaps or duplicates", async () => {
    const vaultId = await newVault();
    const perWriter = 4;
    const before = gate.transactions;
    const appended = await Promise.all(
      writers.flatMap((writer, w) =>
        Array.from({ length: perWriter }, (_, i) =>
          writer.appendAudit(auditEntry({ vaultId, at: w * 100 + i })),
        ),
      ),
    );
    const n = WRITERS * perWriter;
    // The appends did race: losers' transactions were cancelled and retried with the next seq.
    expect(gate.transactions - before).toBeGreaterThan(n);
    expect(appended.map((e) => e.seq).sort((a, b) => a - b)).toStrictEqual(
      Array.from({ length: n }, (_, i) => i + 1),
    );
    const listed = await first().listAudit(vaultId);
    expect(listed.map((e) => e.seq)).toStrictEqual(Array.from({ length: n }, (_, i) => i + 1));
    // Every append landed once, as the entry its caller was given back.
    expect([...listed].sort((a, b) => a.at - b.at)).toStrictEqual([...appended].sort((a, b) => a.at - b.at));
  });

  it("lets exactly one of several commits against the same parent win", async () => {
    const vaultId = await newVault();
    const c = first();
    await c.putDisk(disk({ vaultId }));
    await c.commitRecoveryPoint(point("p1", { vaultId, created: 1 }), null);
    const racers = writers.map((writer, i) =>
      writer.commitRecoveryPoint(
        point(`r${i}`, { vaultId, created: 2, parent: "p1", logicalSize: 1000 + i }),
        "p1",
      ),
    );
    const results = await Promise.allSettled(racers);
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ConflictError);
    const winner = `r${won[0]}`;
    expect((await c.latestRecoveryPoint(vaultId, "d1"))?.id).toBe(winner);
    expect((await c.listRecoveryPoints(vaultId, "d1")).map((p) => p.id)).toStrictEqual([winner, "p1"]);
    expect((await c.getDisk(vaultId, "d1")).size).toBe(1000 + won[0]!);
  });

  it("lets exactly one of several first commits (against null) win", async () => {
    const vaultId = await newVault();
    const results = await Promise.allSettled(
      writers.map((writer, i) => writer.commitRecoveryPoint(point(`f${i}`, { vaultId }), null)),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(await first().listRecoveryPoints(vaultId)).toHaveLength(1);
  });

  it("keeps the head the newest available point while commits race with deletes and restores", async () => {
    const vaultId = await newVault();
    const c = first();
    let parent: string | null = null;
    for (const id of ["a", "b", "c"]) {
      await c.commitRecoveryPoint(point(id, { vaultId, created: 10 }), parent);
      parent = id;
    }
    for (let round = 0; round < 4; round++) {
      const latest = (await c.latestRecoveryPoint(vaultId, "d1"))?.id ?? null;
      const listed = await c.listRecoveryPoints(vaultId, "d1");
      const oldestAvailable = listed.filter((p) => p.state === PointState.Available).at(-1);
      const deleted = listed.find((p) => p.state === PointState.SoftDeleted);
      // Two commits against the head (one newer, one older-dated), a soft delete of the head, a
      // purge of another available point and a restore of a deleted one, all at once.
      const ops: Promise<unknown>[] = [
        writers[1]!.commitRecoveryPoint(point(`n${round}`, { vaultId, created: 10 }), latest),
        writers[2]!.commitRecoveryPoint(point(`m${round}`, { vaultId, created: 5 }), latest),
      ];
      if (latest !== null) {
        ops.push(writers[3]!.updateRecoveryPoint(vaultId, latest, { state: PointState.SoftDeleted }));
      }
      if (oldestAvailable !== undefined && oldestAvailable.id !== latest) {
        ops.push(writers[4]!.updateRecoveryPoint(vaultId, oldestAvailable.id, { state: PointState.Purged }));
      }
      if (deleted !== undefined) {
        ops.push(writers[5]!.updateRecoveryPoint(vaultId, deleted.id, { state: PointState.Available }));
      }
      const results = await Promise.allSettled(ops);
      for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ConflictError);
      expect((await c.latestRecoveryPoint(vaultId, "d1"))?.id).toBe(
        newestAvailable(await c.listRecoveryPoints(vaultId, "d1")),
      );
    }
  });

  it("lets exactly one of two approvers of the same pending request win", async () => {
    const vaultId = await newVault();
    await first().createApproval(approval("a1", { vaultId }));
    const results = await Promise.allSettled(
      writers.map((writer, i) =>
        writer.updateApproval(
          vaultId,
          "a1",
          { state: ApprovalState.Approved, approver: `admin${i}`, approved: i },
          ApprovalState.Pending,
        ),
      ),
    );
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ConflictError);
    expect((await first().getApproval(vaultId, "a1")).approver).toBe(`admin${won[0]}`);
  });
});

/** The id of the first available point of a newest-first listing, or undefined. */
function newestAvailable(points: readonly RecoveryPointRecord[]): string | undefined {
  return points.find((p) => p.state === PointState.Available)?.id;
}

import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDocumentClient } from "../../lib/adapters/aws/clients.ts";
import { openDynamoCatalog } from "../../lib/adapters/aws/dynamo/catalog.ts";
import { createCatalogTable } from "../../lib/adapters/aws/dynamo/table.ts";
import { NotFoundError, ValidationError } from "../../lib/errors.ts";
import type { JobRecord, RecoveryPointRecord } from "../../lib/model.ts";
import type { Catalog } from "../../lib/ports/catalog.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { approval } from "./catalog-approvals.contract.ts";
import { auditEntry } from "./catalog-audit.contract.ts";
import { disk, job, point, vault } from "./catalog-records.ts";
import { policy, settings } from "./catalog-rules.contract.ts";

// Catalog's refusals beyond the Catalog contract, the ones the SQLite catalog makes too:
// records of a vault that does not exist, malformed records. One table for the file; each test
// works in vaults of its own.

describe("DynamoCatalog refusals", () => {
  const tableName = uniqueName("catalog-refusals");
  const client = dynamoDocumentClient(emulatorConfig());
  let catalog: Catalog;
  beforeAll(async () => {
    await createCatalogTable(client, tableName);
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

  it("refuses records of a vault that does not exist with NotFoundError naming it, writing nothing", async () => {
    const ghost = uniqueName("ghost");
    const writes: (() => Promise<unknown>)[] = [
      () => catalog.putDisk(disk({ vaultId: ghost })),
      () => catalog.commitRecoveryPoint(point("p1", { vaultId: ghost }), null),
      () => catalog.createJob(job("j1", { vaultId: ghost })),
      () => catalog.putPolicy(policy("daily", { vaultId: ghost }), null),
      () => catalog.putSettings(settings(1, { vaultId: ghost }), 0),
      () => catalog.createApproval(approval("a1", { vaultId: ghost })),
      () => catalog.appendAudit(auditEntry({ vaultId: ghost })),
    ];
    for (const write of writes) {
      const err = await write().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toContain(ghost);
    }
    expect(await catalog.listDisks(ghost)).toStrictEqual([]);
    expect(await catalog.listRecoveryPoints(ghost)).toStrictEqual([]);
    expect(await catalog.listJobs(ghost)).toStrictEqual([]);
    expect(await catalog.listPolicies(ghost)).toStrictEqual([]);
    expect(await catalog.listApprovals(ghost)).toStrictEqual([]);
    expect(await catalog.listAudit(ghost)).toStrictEqual([]);
  });

  it("refuses a record with a missing or mistyped field with ValidationError, writing nothing", async () => {
    const v = await newVault();
    const bad = <T>(record: T, over: object) => ({ ...record, ...over }) as T;
    const refused: (() => Promise<unknown>)[] = [
      () => catalog.createJob(bad<JobRecord>(job("j1", { vaultId: v }), { status: undefined })),
      () => catalog.createJob(bad<JobRecord>(job("j2", { vaultId: v }), { started: "yesterday" })),
      () => catalog.createJob(bad<JobRecord>(job("j3", { vaultId: v }), { detail: { nested: { a: 1 } } })),
      () =>
        catalog.commitRecoveryPoint(
          bad<RecoveryPointRecord>(point("p1", { vaultId: v }), { state: "gone" }),
          null,
        ),
      () =>
        catalog.commitRecoveryPoint(
          bad<RecoveryPointRecord>(point("p2", { vaultId: v }), { created: 1.5 }),
          null,
        ),
      () => catalog.putDisk(bad(disk({ vaultId: v, name: "d2" }), { size: "big" })),
      () => catalog.putPolicy(policy("p", { vaultId: v, version: 2 }), null),
      () => catalog.putSettings(settings(1, { vaultId: v, lock: "LOCKED" as never }), 0),
      () => catalog.appendAudit(auditEntry({ vaultId: v, principal: "" })),
      () => catalog.listJobs(v, { limit: -1 }),
    ];
    for (const call of refused) await expect(call()).rejects.toBeInstanceOf(ValidationError);
    expect(await catalog.listJobs(v)).toStrictEqual([]);
    expect(await catalog.listRecoveryPoints(v)).toStrictEqual([]);
    expect((await catalog.listDisks(v)).map((d) => d.name)).toStrictEqual(["d1"]);
    expect(await catalog.listAudit(v)).toStrictEqual([]);
  });
});

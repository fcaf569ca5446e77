import {
  DeleteTableCommand,
  DescribeContinuousBackupsCommand,
  ProvisionedThroughputExceededException,
  ThrottlingException,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { dynamoDocumentClient } from "../../lib/adapters/aws/clients.ts";
import { openDynamoCatalog } from "../../lib/adapters/aws/dynamo/catalog.ts";
import { MAX_SETTLE_ATTEMPTS } from "../../lib/adapters/aws/dynamo/retry.ts";
import { createCatalogTable } from "../../lib/adapters/aws/dynamo/table.ts";
import {
  AlreadyExistsError,
  BlockvaultError,
  ConflictError,
  NotFoundError,
  TransientError,
} from "../../lib/errors.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { auditEntry } from "./catalog-audit.contract.ts";
import { job, point, vault } from "./catalog-records.ts";

// Catalog's failure handling beyond the Catalog contract: a missing table, throttling and
// transaction cancellations (injected with aws-sdk-client-mock), and table creation.

const meta = { $metadata: {} };

/** A cancelled transaction whose items failed with `codes` (in item order). */
function cancelled(...codes: string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    ...meta,
    message: "Transaction cancelled",
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

/** A catalog on a client whose every call is answered by the returned mock. */
function mockedCatalog() {
  const client = dynamoDocumentClient({
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });
  const mock = mockClient(client);
  return { catalog: openDynamoCatalog({ tableName: "mocked", client }), mock };
}

describe("DynamoCatalog failures", () => {
  const mocks: { restore(): void }[] = [];
  afterEach(() => {
    for (const mock of mocks.splice(0)) mock.restore();
  });
  const mocked = () => {
    const out = mockedCatalog();
    mocks.push(out.mock);
    return out;
  };

  it("reports a missing table as a non-retryable NotFoundError naming it, on reads and writes", async () => {
    const tableName = uniqueName("no-such-table");
    const catalog = openDynamoCatalog({ tableName, config: emulatorConfig() });
    try {
      const calls: (() => Promise<unknown>)[] = [
        () => catalog.getVault("v1"),
        () => catalog.createVault(vault()),
        () => catalog.listJobs("v1"),
        () => catalog.commitRecoveryPoint(point("p1"), null),
        () => catalog.appendAudit(auditEntry()),
      ];
      for (const call of calls) {
        const err = await call().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as NotFoundError).retryable).toBe(false);
        expect((err as Error).message).toContain(tableName);
      }
    } finally {
      await catalog.close();
    }
  });

  it("turns throttling of a read or a write into a retryable TransientError (fault injection)", async () => {
    const { catalog, mock } = mocked();
    mock
      .on(GetCommand)
      .rejects(new ProvisionedThroughputExceededException({ ...meta, message: "slow down" }));
    mock.on(QueryCommand).rejects(new ThrottlingException({ ...meta, message: "rate exceeded" }));
    for (const call of [() => catalog.getVault("v1"), () => catalog.listRecoveryPoints("v1")]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect((err as TransientError).retryable).toBe(true);
      expect((err as Error).message).toContain("mocked");
    }
  });

  it("turns a transaction cancelled by throttling into a retryable TransientError (fault injection)", async () => {
    const { catalog, mock } = mocked();
    mock.on(UpdateCommand).resolves({ Attributes: { n: 1 } });
    mock.on(TransactWriteCommand).rejects(cancelled("None", "ThrottlingError"));
    const err = await catalog.createJob(job("j1")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).retryable).toBe(true);
  });

  it("retries a transaction another one interfered with, inside the call (fault injection)", async () => {
    const { catalog, mock } = mocked();
    mock.on(UpdateCommand).resolves({ Attributes: { n: 1 } });
    mock
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled("TransactionConflict", "None"))
      .rejectsOnce(cancelled("None", "TransactionConflict"))
      .resolves({});
    await catalog.createJob(job("j1"));
    expect(mock.commandCalls(TransactWriteCommand)).toHaveLength(3);
  });

  it("gives up on a race it keeps losing with a ConflictError no layer above retries (fault injection)", async () => {
    const { catalog, mock } = mocked();
    mock.on(TransactWriteCommand).rejects(cancelled("TransactionConflict", "None"));
    const err = await catalog.createVault(vault()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({
      retryable: false,
      message: expect.stringMatching(/lost the race .* 30 times/),
    });
    expect(mock.commandCalls(TransactWriteCommand)).toHaveLength(MAX_SETTLE_ATTEMPTS);
  }, 30_000);

  it("tells a duplicate id from a missing vault by the cancellation reasons (fault injection)", async () => {
    const { catalog, mock } = mocked();
    mock.on(UpdateCommand).resolves({ Attributes: { n: 7 } });
    mock
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled("ConditionalCheckFailed", "None"))
      .rejectsOnce(cancelled("None", "ConditionalCheckFailed"));
    await expect(catalog.createJob(job("j1"))).rejects.toBeInstanceOf(AlreadyExistsError);
    const err = await catalog.createJob(job("j1", { vaultId: "gone" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toContain("gone");
  });

  it("reads every page of a Query, passing LastEvaluatedKey on (fault injection)", async () => {
    const { catalog, mock } = mocked();
    const item = (id: string) => ({ pk: "V#v1", sk: `JOB#${id}`, ...job(id), ticket: 1, rev: 0 });
    const next = { pk: "V#v1", sk: "JOB#a", lsi1: "x" };
    mock
      .on(QueryCommand)
      .resolvesOnce({ Items: [item("a")], LastEvaluatedKey: next })
      .resolvesOnce({ Items: [item("b")] });
    expect((await catalog.listJobs("v1")).map((j) => j.id)).toStrictEqual(["a", "b"]);
    const calls = mock.commandCalls(QueryCommand);
    expect(calls[1]!.args[0].input.ExclusiveStartKey).toStrictEqual(next);
    expect(calls.every((c) => c.args[0].input.ConsistentRead === true)).toBe(true);
  });

  it("fails calls after close, closing twice harmlessly", async () => {
    const { catalog } = mocked();
    await catalog.close();
    await catalog.close();
    await expect(catalog.getVault("v1")).rejects.toBeInstanceOf(BlockvaultError);
  });
});

describe("createCatalogTable", () => {
  it("creates an ACTIVE table with point-in-time recovery on, and refuses to create it twice", async () => {
    const client = dynamoDocumentClient(emulatorConfig());
    const tableName = uniqueName("catalog-create");
    try {
      expect(await createCatalogTable(client, tableName)).toStrictEqual({ pointInTimeRecovery: true });
      const backups = await client.send(new DescribeContinuousBackupsCommand({ TableName: tableName }));
      const status =
        backups.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus;
      expect(status).toBe("ENABLED");
      const err = await createCatalogTable(client, tableName).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AlreadyExistsError);
      expect((err as Error).message).toContain(tableName);
    } finally {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    }
  });
});

import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, describe, expect, it } from "vitest";
import { dynamoDocumentClient } from "../../lib/adapters/aws/clients.ts";
import { openDynamoCatalog } from "../../lib/adapters/aws/dynamo/catalog.ts";
import { dynamoPrincipalStore, PRINCIPALS_SK } from "../../lib/adapters/aws/dynamo/principals.ts";
import { createCatalogTable } from "../../lib/adapters/aws/dynamo/table.ts";
import { NotFoundError, ValidationError } from "../../lib/errors.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { vault } from "./catalog-records.ts";
import { describePrincipalStoreContract } from "./principals.contract.ts";

// The PrincipalStore contract on the emulator: one table for the file, a vault of its own per test.

const client = dynamoDocumentClient(emulatorConfig());
// moto does not isolate a transaction from requests beside it (see "Limits to keep in mind" in
// docs/design.md): one request in flight at a time, in whatever order the calls send them.
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
const tableName = uniqueName("principals");
let created: Promise<unknown> | undefined;

async function freshVault(): Promise<string> {
  created ??= createCatalogTable(client, tableName);
  await created;
  const vaultId = uniqueName("v");
  await openDynamoCatalog({ tableName, client }).createVault(vault({ id: vaultId }));
  return vaultId;
}

afterAll(async () => {
  if (created) await client.send(new DeleteTableCommand({ TableName: tableName }));
  client.destroy();
});

describePrincipalStoreContract("DynamoDB item (emulator)", async () => {
  const vaultId = await freshVault();
  return {
    store: dynamoPrincipalStore({ tableName, client, vaultId: () => vaultId }),
    name: (i) => `arn:aws:iam::123456789012:role/p${i}`,
    cleanup: async () => {},
  };
});

describe("the principals item in the catalog table", () => {
  const record = { name: "arn:aws:iam::123456789012:user/a", roles: ["reader" as const] };
  const full = { ...record, created: 1, createdBy: "owner", rolesSince: 1, lineage: [] };

  it("is one item of the vault's partition, its principals as JSON text", async () => {
    const vaultId = await freshVault();
    const store = dynamoPrincipalStore({ tableName, client, vaultId: () => vaultId });
    await store.add([full], 0);
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: { pk: `V#${vaultId}`, sk: PRINCIPALS_SK } }),
    );
    expect(Item).toMatchObject({ kind: "principals", revision: 1 });
    expect(JSON.parse(Item?.principals as string)).toEqual([full]);
  });

  it("refuses to write for a vault that does not exist, and to work before the vault is known", async () => {
    await freshVault();
    const missing = dynamoPrincipalStore({ tableName, client, vaultId: () => "no-such-vault" });
    await expect(missing.add([full], 0)).rejects.toThrow(NotFoundError);
    expect((await missing.list()).principals).toEqual([]);
    const unbound = dynamoPrincipalStore({ tableName, client, vaultId: () => undefined });
    await expect(unbound.list()).rejects.toThrow(ValidationError);
  });
});

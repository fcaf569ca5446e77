import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDocumentClient } from "../../lib/adapters/aws/clients.ts";
import { openDynamoCatalog } from "../../lib/adapters/aws/dynamo/catalog.ts";
import { type ItemKey, itemKey, SK, sortableCount } from "../../lib/adapters/aws/dynamo/keys.ts";
import { createCatalogTable } from "../../lib/adapters/aws/dynamo/table.ts";
import { initAwsVault } from "../../lib/compose/aws.ts";
import { IntegrityError } from "../../lib/errors.ts";
import type { Catalog } from "../../lib/ports/catalog.ts";
import type { Vault } from "../../lib/vault.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile, restoreBytes } from "../helpers/vault-ops.ts";
import { type CorruptField, describeEnumRefusals, type EnumRecord } from "./catalog-enums.contract.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const client = dynamoDocumentClient(emulatorConfig());

afterAll(() => client.destroy());

/** Sets `field` of the item at `key` to `value` directly in the table, as an editor of it could. */
async function setAttribute(table: string, key: ItemKey, field: string, value: unknown) {
  await client.send(
    new UpdateCommand({
      TableName: table,
      Key: key,
      UpdateExpression: "SET #f = :v",
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeNames: { "#f": field },
      ExpressionAttributeValues: { ":v": value },
    }),
  );
}

describe("a DynamoDB catalog row whose manifest was swapped for another point's (emulator)", () => {
  const table = uniqueName("binding");
  let dir = "";
  let vault: Vault;
  let first = "";
  let second = "";

  beforeAll(async () => {
    dir = await tempDir("dynamo-binding");
    vault = await initAwsVault(
      { bucket: uniqueName("binding"), table, aws: emulatorConfig() },
      { name: uniqueName("binding"), blockSize: 4096 },
    );
    const image = join(dir, "disk.img");
    await writeFile(image, seededBytes(1, 32 * 4096));
    first = (await backupFile(vault, image, "vm1")).recoveryPointId;
    await writeFile(image, seededBytes(2, 32 * 4096));
    second = (await backupFile(vault, image, "vm1")).recoveryPointId;
  });

  afterAll(async () => {
    await vault?.close();
    await client.send(new DeleteTableCommand({ TableName: table })).catch(() => {});
    if (dir) await removeDir(dir);
  });

  it("check --read-data reports the point and a restore refuses it, instead of returning the other point's bytes", async () => {
    expect((await vault.check({ readData: true })).ok).toBe(true);
    const key = itemKey(vault.id, SK.point + second);
    const firstItem = await client.send(
      new GetCommand({ TableName: table, Key: itemKey(vault.id, SK.point + first) }),
    );
    const ownItem = await client.send(new GetCommand({ TableName: table, Key: key }));
    await setAttribute(table, key, "manifest", firstItem.Item!.manifest);
    try {
      const report = await vault.check({ readData: true });
      expect(report.ok).toBe(false);
      expect(report.brokenPoints.map((p) => p.id)).toEqual([second]);
      expect(report.brokenPoints[0]!.error).toMatch(new RegExp(`belongs to recovery point ${first}`));
      const err = await restoreBytes(vault, second, dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect((err as Error).message).toMatch(
        new RegExp(`recovery point ${second}: .*belongs to recovery point ${first}`),
      );
    } finally {
      await setAttribute(table, key, "manifest", ownItem.Item!.manifest);
    }
    expect((await restoreBytes(vault, second, dir)).equals(seededBytes(2, 32 * 4096))).toBe(true);
  });
});

describe("DynamoCatalog refuses enum values it does not know (emulator)", () => {
  const tableName = uniqueName("catalog-enums");
  let catalog: Catalog;
  beforeAll(async () => {
    await createCatalogTable(client, tableName);
    catalog = openDynamoCatalog({ tableName, client });
  });
  afterAll(async () => {
    await catalog.close();
    await client.send(new DeleteTableCommand({ TableName: tableName }));
  });
  const sortKeys = { point: SK.point, job: SK.job, approval: SK.approval } as const;
  const sortKey = (record: EnumRecord, id: string) => {
    if (record === "settings") return SK.settings;
    if (record === "audit") return SK.audit + sortableCount(Number(id));
    return sortKeys[record] + id;
  };
  const corrupt: CorruptField = (vaultId, record, id, field, value) =>
    setAttribute(tableName, itemKey(vaultId, sortKey(record, id)), field, value);
  describeEnumRefusals(
    () => catalog,
    corrupt,
    () => uniqueName("v"),
  );
});

import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  UpdateContinuousBackupsCommand,
} from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { AlreadyExistsError, TransientError } from "../../../errors.ts";
import { awsErrorCode, translateAwsError } from "../aws-errors.ts";
import { ATTR } from "./keys.ts";

/**
 * A client `createCatalogTable` sends its table-management commands through: a `DynamoDBClient`,
 * or the document client the catalog uses (it passes commands of the base client through).
 */
export type TableAdminClient = DynamoDBClient | DynamoDBDocumentClient;

/** The one `send` signature used here: both clients accept the base client's commands at runtime. */
type Send = Pick<DynamoDBClient, "send">;

/** What {@link createCatalogTable} did. */
export interface CreatedTable {
  /** Whether point-in-time recovery is on; false where the service does not offer it. */
  readonly pointInTimeRecovery: boolean;
}

const ACTIVE_TIMEOUT_MS = 5 * 60_000;

/**
 * Creates the catalog table `name` (on-demand billing, the key schema and LSIs of keys.ts), waits
 * until it is ACTIVE and turns on point-in-time recovery where the service supports it.
 * An existing table of that name is an `AlreadyExistsError` (and is left alone).
 */
export async function createCatalogTable(admin: TableAdminClient, name: string): Promise<CreatedTable> {
  const client = admin as Send;
  const what = `create DynamoDB table ${name}`;
  const lsi = (attr: string) => ({
    IndexName: attr,
    KeySchema: [
      { AttributeName: ATTR.pk, KeyType: "HASH" as const },
      { AttributeName: attr, KeyType: "RANGE" as const },
    ],
    Projection: { ProjectionType: "ALL" as const },
  });
  const command = new CreateTableCommand({
    TableName: name,
    BillingMode: "PAY_PER_REQUEST",
    KeySchema: [
      { AttributeName: ATTR.pk, KeyType: "HASH" },
      { AttributeName: ATTR.sk, KeyType: "RANGE" },
    ],
    AttributeDefinitions: Object.values(ATTR).map((AttributeName) => ({ AttributeName, AttributeType: "S" })),
    LocalSecondaryIndexes: [lsi(ATTR.lsi1), lsi(ATTR.lsi2), lsi(ATTR.lsi3)],
  });
  try {
    await client.send(command);
  } catch (err) {
    if (awsErrorCode(err) === "ResourceInUseException") {
      throw new AlreadyExistsError(`${what}: the table already exists`, { cause: err });
    }
    throw translateAwsError(err, what);
  }
  await waitUntilActive(client, name, what);
  return {
    pointInTimeRecovery: await enablePointInTimeRecovery(client, name),
  };
}

async function waitUntilActive(client: Send, name: string, what: string): Promise<void> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  for (let delay = 100; ; delay = Math.min(delay * 2, 5000)) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
      if (Table?.TableStatus === "ACTIVE") return;
    } catch (err) {
      // Right after CreateTable the table may not be visible yet: keep waiting.
      if (awsErrorCode(err) !== "ResourceNotFoundException") throw translateAwsError(err, what);
    }
    if (Date.now() > deadline) throw new TransientError(`${what}: the table did not become ACTIVE in time`);
    await sleep(delay);
  }
}

/** Codes meaning the service (an emulator, a region) has no point-in-time recovery. */
const PITR_UNSUPPORTED = new Set(["UnknownOperationException", "NotImplemented", "UnsupportedOperation"]);

async function enablePointInTimeRecovery(client: Send, name: string): Promise<boolean> {
  const what = `enable point-in-time recovery of DynamoDB table ${name}`;
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await client.send(
        new UpdateContinuousBackupsCommand({
          TableName: name,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      );
      const status =
        out.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus;
      return status === "ENABLED";
    } catch (err) {
      const code = awsErrorCode(err);
      if (PITR_UNSUPPORTED.has(code)) return false;
      // A new table's continuous backups take a moment to become available.
      if (code === "ContinuousBackupsUnavailableException" && attempt < 30) {
        await sleep(2000);
        continue;
      }
      throw translateAwsError(err, what);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

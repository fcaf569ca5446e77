import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import { dynamoDocumentClient } from "../../lib/adapters/aws/clients.ts";
import { openDynamoCatalog } from "../../lib/adapters/aws/dynamo/catalog.ts";
import { createCatalogTable } from "../../lib/adapters/aws/dynamo/table.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { describeCatalogContract } from "./catalog.contract.ts";

// The whole Catalog contract (every clause suite) against Catalog on the emulator. The
// suites use fixed vault ids, so each test gets a table of its own, dropped afterwards.

describeCatalogContract("DynamoCatalog (emulator)", async () => {
  const client = dynamoDocumentClient(emulatorConfig());
  const tableName = uniqueName("catalog");
  await createCatalogTable(client, tableName);
  const catalog = openDynamoCatalog({ tableName, client });
  return {
    catalog,
    async cleanup() {
      await catalog.close();
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
});

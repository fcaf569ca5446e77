import { type AwsConfig, decoratedClientConfig, dynamoDocumentClient } from "../adapters/aws/clients.ts";
import { openDynamoCatalog } from "../adapters/aws/dynamo/catalog.ts";
import { DynamoReferenceStore } from "../adapters/aws/dynamo/references.ts";
import { retryingCatalog } from "../decorators/retrying-catalog.ts";
import { retryingReferences } from "../decorators/retrying-references.ts";
import { ValidationError } from "../errors.ts";
import type { GatePorts } from "../rules/writer-gate/serve.ts";

/**
 * The commit function's composition root: the catalog and the reference store it writes on the
 * snapshot writer's behalf, from the table the function's environment names, retried like every
 * runtime's (the SDK tries once).
 */
export function openGateCatalog(aws: AwsConfig): GatePorts {
  const tableName = process.env.BLOCKVAULT_TABLE;
  if (!tableName)
    throw new ValidationError(
      "the function's environment lacks BLOCKVAULT_TABLE; deploy with serverless.yml",
    );
  const client = dynamoDocumentClient(decoratedClientConfig(aws));
  return {
    catalog: retryingCatalog(openDynamoCatalog({ tableName, client })),
    references: retryingReferences(new DynamoReferenceStore({ tableName, client })),
  };
}

import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { BlockvaultError } from "../../../errors.ts";
import type { Catalog } from "../../../ports/catalog.ts";
import { bindAll } from "../../../util/bind-ops.ts";
import { type AwsConfig, dynamoDocumentClient } from "../clients.ts";
import { approvalOps } from "./approvals.ts";
import { auditOps } from "./audit.ts";
import { jobOps } from "./jobs.ts";
import { pointOps } from "./points.ts";
import { policyOps, settingsOps } from "./rules.ts";
import { DynamoTable } from "./store.ts";
import { diskOps, vaultOps } from "./vaults.ts";
import { vmOps } from "./vms.ts";

/** Where {@link openDynamoCatalog} keeps the catalog. */
export interface DynamoCatalogOptions {
  /** The catalog table, created by `createCatalogTable`. */
  readonly tableName: string;
  /** The client to use; the caller keeps owning it (`close` leaves it open). */
  readonly client?: DynamoDBDocumentClient;
  /** How to reach DynamoDB when no `client` is given; the catalog then owns its client. */
  readonly config?: AwsConfig;
}

/**
 * Opens the {@link Catalog} on one DynamoDB table, assembled from one module per aggregate
 * (points.ts, jobs.ts, …, each bound to the table); single-table design, see "DynamoDB catalog"
 * in docs/design.md and table.ts. Every access pattern is a GetItem or a Query in the vault's
 * partition, reads are strongly consistent, and every read-check-write is one conditional write or one
 * transaction, so several processes (or Lambda functions) may share a table:
 * - creates are conditional on the id (`AlreadyExistsError`) and, for a vault's records, run in a
 *   transaction with a ConditionCheck that the vault exists (`NotFoundError` naming it);
 * - `commitRecoveryPoint` is one transaction conditional on the disk's head item (its newest
 *   available point), which every state change to or from `available` keeps exact;
 * - updates are conditional on the revision they read; `appendAudit` moves a per-vault counter in
 *   the transaction that puts the entry, so seqs have no gaps even under concurrent appends.
 * A write that loses a race is retried inside the call (it wrote nothing); SDK errors are
 * translated (a missing table is a non-retryable `NotFoundError` naming it, throttling a
 * retryable `TransientError`).
 *
 * Beyond the port, as in the SQLite catalog: records of a vault that was never created are
 * refused with `NotFoundError`, and a record with a missing or mistyped field with
 * `ValidationError` (see codec.ts).
 */
export function openDynamoCatalog(options: DynamoCatalogOptions): Catalog {
  const client = options.client ?? dynamoDocumentClient(options.config ?? {});
  // Only a client the catalog created is destroyed on close.
  const owned = options.client === undefined ? client : undefined;
  const table = new DynamoTable(client, options.tableName);
  let closed = false;
  const context = () => {
    if (closed) throw new BlockvaultError(`catalog on DynamoDB table ${table.name} is closed`);
    return table;
  };
  return {
    ...bindAll(
      context,
      vaultOps,
      diskOps,
      pointOps,
      jobOps,
      policyOps,
      settingsOps,
      approvalOps,
      auditOps,
      vmOps,
    ),
    /** Closes the catalog (and the client it created); later calls fail. Closing twice is harmless. */
    close: async () => {
      if (closed) return;
      closed = true;
      owned?.destroy();
    },
  };
}

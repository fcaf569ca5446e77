import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { BlockvaultError } from "../../errors.ts";
import type {
  ApprovalRecord,
  ApprovalState,
  AuditEntry,
  DiskRecord,
  JobRecord,
  PolicyRecord,
  RecoveryPointRecord,
  VaultRecord,
  VaultSettings,
} from "../../model.ts";
import type { ApprovalQuery, AuditQuery, Catalog, JobExpectation, JobQuery } from "../../ports/catalog.ts";
import { type AwsConfig, dynamoDocumentClient } from "./clients.ts";
import * as approvals from "./dynamo-approvals.ts";
import * as audit from "./dynamo-audit.ts";
import * as jobs from "./dynamo-jobs.ts";
import * as points from "./dynamo-points.ts";
import * as rules from "./dynamo-rules.ts";
import { DynamoTable } from "./dynamo-store.ts";
import * as vaults from "./dynamo-vaults.ts";

/** Where {@link DynamoCatalog} keeps the catalog. */
export interface DynamoCatalogOptions {
  /** The catalog table, created by `createCatalogTable`. */
  readonly tableName: string;
  /** The client to use; the caller keeps owning it (`close` leaves it open). */
  readonly client?: DynamoDBDocumentClient;
  /** How to reach DynamoDB when no `client` is given; the catalog then owns its client. */
  readonly config?: AwsConfig;
}

/**
 * The {@link Catalog} on one DynamoDB table (single-table design, see "DynamoDB catalog" in docs/design.md
 * and dynamo-table.ts). Every access pattern is a GetItem or a Query in the vault's partition,
 * reads are strongly consistent, and every read-check-write is one conditional write or one
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
 * `ValidationError` (see dynamo-codec.ts).
 */
export class DynamoCatalog implements Catalog {
  readonly #table: DynamoTable;
  /** The client to destroy on close: only one the catalog created. */
  readonly #owned: DynamoDBDocumentClient | undefined;
  #closed = false;

  constructor(options: DynamoCatalogOptions) {
    const client = options.client ?? dynamoDocumentClient(options.config ?? {});
    this.#owned = options.client === undefined ? client : undefined;
    this.#table = new DynamoTable(client, options.tableName);
  }

  /** The table, unless the catalog was closed. */
  get #t(): DynamoTable {
    if (this.#closed) throw new BlockvaultError(`catalog on DynamoDB table ${this.#table.name} is closed`);
    return this.#table;
  }

  async createVault(vault: VaultRecord): Promise<void> {
    await vaults.createVault(this.#t, vault);
  }

  async getVault(id: string): Promise<VaultRecord> {
    return vaults.getVault(this.#t, id);
  }

  async putDisk(disk: DiskRecord): Promise<void> {
    await vaults.putDisk(this.#t, disk);
  }

  async getDisk(vaultId: string, name: string): Promise<DiskRecord> {
    return vaults.getDisk(this.#t, vaultId, name);
  }

  async listDisks(vaultId: string): Promise<DiskRecord[]> {
    return vaults.listDisks(this.#t, vaultId);
  }

  async commitRecoveryPoint(point: RecoveryPointRecord, expectedParent: string | null): Promise<void> {
    await points.commitRecoveryPoint(this.#t, point, expectedParent);
  }

  async getRecoveryPoint(vaultId: string, id: string): Promise<RecoveryPointRecord> {
    return points.getRecoveryPoint(this.#t, vaultId, id);
  }

  async listRecoveryPoints(vaultId: string, disk?: string): Promise<RecoveryPointRecord[]> {
    return points.listRecoveryPoints(this.#t, vaultId, disk);
  }

  async latestRecoveryPoint(vaultId: string, disk: string): Promise<RecoveryPointRecord | undefined> {
    return points.latestRecoveryPoint(this.#t, vaultId, disk);
  }

  async updateRecoveryPoint(
    vaultId: string,
    id: string,
    changes: Partial<Pick<RecoveryPointRecord, "tier" | "state" | "deleteAfter" | "retainUntil">>,
  ): Promise<RecoveryPointRecord> {
    return points.updateRecoveryPoint(this.#t, vaultId, id, changes);
  }

  async createJob(job: JobRecord): Promise<void> {
    await jobs.createJob(this.#t, job);
  }

  async getJob(vaultId: string, id: string): Promise<JobRecord> {
    return jobs.getJob(this.#t, vaultId, id);
  }

  async updateJob(
    vaultId: string,
    id: string,
    changes: Partial<Omit<JobRecord, "id" | "vaultId">>,
    expected?: JobExpectation,
  ): Promise<JobRecord> {
    return jobs.updateJob(this.#t, vaultId, id, changes, expected);
  }

  async listJobs(vaultId: string, query?: JobQuery): Promise<JobRecord[]> {
    return jobs.listJobs(this.#t, vaultId, query);
  }

  async putPolicy(policy: PolicyRecord, expectedVersion: number | null): Promise<void> {
    await rules.putPolicy(this.#t, policy, expectedVersion);
  }

  async deletePolicy(vaultId: string, name: string, expectedVersion: number): Promise<void> {
    await rules.deletePolicy(this.#t, vaultId, name, expectedVersion);
  }

  async getPolicy(vaultId: string, name: string): Promise<PolicyRecord> {
    return rules.getPolicy(this.#t, vaultId, name);
  }

  async listPolicies(vaultId: string): Promise<PolicyRecord[]> {
    return rules.listPolicies(this.#t, vaultId);
  }

  async getSettings(vaultId: string): Promise<VaultSettings> {
    return rules.getSettings(this.#t, vaultId);
  }

  async putSettings(settings: VaultSettings, expectedVersion: number): Promise<void> {
    await rules.putSettings(this.#t, settings, expectedVersion);
  }

  async createApproval(approval: ApprovalRecord): Promise<void> {
    await approvals.createApproval(this.#t, approval);
  }

  async getApproval(vaultId: string, id: string): Promise<ApprovalRecord> {
    return approvals.getApproval(this.#t, vaultId, id);
  }

  async listApprovals(vaultId: string, query?: ApprovalQuery): Promise<ApprovalRecord[]> {
    return approvals.listApprovals(this.#t, vaultId, query);
  }

  async updateApproval(
    vaultId: string,
    id: string,
    changes: Partial<Pick<ApprovalRecord, "state" | "approver" | "approved" | "used">>,
    expectedState: ApprovalState,
  ): Promise<ApprovalRecord> {
    return approvals.updateApproval(this.#t, vaultId, id, changes, expectedState);
  }

  async appendAudit(entry: Omit<AuditEntry, "seq">): Promise<AuditEntry> {
    return audit.appendAudit(this.#t, entry);
  }

  async listAudit(vaultId: string, query?: AuditQuery): Promise<AuditEntry[]> {
    return audit.listAudit(this.#t, vaultId, query);
  }

  /** Closes the catalog (and the client it created); later calls fail. Closing twice is harmless. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#owned?.destroy();
  }
}

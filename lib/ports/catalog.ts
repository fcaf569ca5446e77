import { ConflictError } from "../errors.ts";
import type {
  ApprovalRecord,
  ApprovalState,
  AuditEntry,
  DiskRecord,
  JobRecord,
  JobStatus,
  PolicyRecord,
  RecoveryPointRecord,
  VaultRecord,
  VaultSettings,
} from "../model.ts";

/** Which jobs to list; all fields optional and combined with AND. */
export interface JobQuery {
  readonly status?: JobStatus;
  readonly disk?: string;
  readonly limit?: number;
}

/**
 * The condition of a conditional `updateJob`: the stored job must have this status and, when
 * `heartbeat` is given, exactly this heartbeat (`null`: none recorded). That is how a heartbeat
 * never revives a job someone else ended, and how two processes that both find a job dead do
 * not both end it.
 */
export interface JobExpectation {
  readonly status: JobStatus;
  readonly heartbeat?: number | null;
}

/** Rejects with the port's `ConflictError` when `job` does not meet `expected`. */
export function checkJobExpectation(what: string, job: JobRecord, expected: JobExpectation): void {
  if (job.status !== expected.status) {
    throw new ConflictError(`${what}: job ${job.id} is ${job.status}, not ${expected.status}`);
  }
  if (expected.heartbeat !== undefined && (job.heartbeat ?? null) !== expected.heartbeat) {
    throw new ConflictError(`${what}: job ${job.id} has sent a heartbeat since it was read`);
  }
}

/** Which audit entries to list; all fields optional and combined with AND. */
export interface AuditQuery {
  /** Only entries after this one (an integer >= 0; default 0, from the start): a page's last seq. */
  readonly afterSeq?: number;
  /** At most this many entries, the first ones after `afterSeq` (an integer >= 0). */
  readonly limit?: number;
  /** Only entries of this principal (exact match). */
  readonly principal?: string;
  /** Only entries of this action (exact match). */
  readonly action?: string;
}

/** Which approval requests to list. */
export interface ApprovalQuery {
  readonly state?: ApprovalState;
}

/**
 * The catalog: the queryable record of vaults, disks, recovery points and jobs, and each vault's
 * audit log. The object store holds the data; the catalog says which of it is committed.
 *
 * Contract, checked by `test/contract/catalog.contract.ts`:
 * - Ids of disks, recovery points and jobs are scoped to their vault: the same id may exist in
 *   two vaults, and every lookup names the vault.
 * - Every `create*` (and `commitRecoveryPoint`) is conditional: an existing id rejects with
 *   `AlreadyExistsError` and changes nothing. `putDisk` is not: it creates or replaces.
 * - `commitRecoveryPoint` is the commit of a backup and is atomic: it inserts the point and
 *   updates the disk's size (when the disk is registered; the point is committed either way) only
 *   if the disk's latest available point is still `expectedParent` (null: the disk has no
 *   available point); otherwise it rejects with `ConflictError` and writes nothing. The id check
 *   comes first, so a retried commit that already landed reports `AlreadyExistsError`.
 * - `get*` of a missing id rejects with `NotFoundError`.
 * - "Newest" means greatest `created` (for jobs, `started`); records with equal timestamps order
 *   by commit order, later first.
 * - `listRecoveryPoints` returns points of one disk (or all) newest first, whatever their state;
 *   `latestRecoveryPoint` is the newest `available` point of a disk, or undefined.
 * - `listDisks` returns a vault's disks in no particular order.
 * - `listJobs` returns a vault's jobs newest first, filtered by the query; `limit` keeps the
 *   first that many (an integer >= 0; anything else is a `ValidationError`).
 * - `updateJob` / `updateRecoveryPoint` replace the named fields of an existing record and return
 *   the result, rejecting with `NotFoundError` when there is none. They merge like object spread:
 *   an optional field given as `undefined` is cleared; a required one given as `undefined` is a
 *   `ValidationError`.
 * - `updateJob(vaultId, id, changes, expected)` changes the job only if it meets `expected`
 *   (see {@link JobExpectation}), atomically with the check; otherwise it rejects with a
 *   non-retryable `ConflictError` and changes nothing.
 * - Optional fields round-trip: a field absent when written is absent (not null) when read.
 * - `putPolicy(policy, expectedVersion)` is conditional: with `null` the policy must not exist
 *   (else `AlreadyExistsError`); with a number, the stored version must equal it (else
 *   `ConflictError`; `NotFoundError` when there is none). The caller passes the new record with
 *   `version` already incremented. `listPolicies` returns a vault's policies by name.
 * - `deletePolicy(vaultId, name, expectedVersion)` removes the policy only if its stored version
 *   equals `expectedVersion` (else `ConflictError`); `NotFoundError` when there is none.
 * - `getSettings` returns the stored settings, or `defaultSettings(vaultId)` (version 0) when
 *   none were ever written. `putSettings(settings, expectedVersion)` writes only if the stored
 *   version (0 when none) equals `expectedVersion`, else `ConflictError`; the caller passes
 *   `version: expectedVersion + 1`.
 * - `createApproval` is conditional on the id (`AlreadyExistsError`). `updateApproval(vaultId,
 *   id, changes, expectedState)` changes `state`, `approver`, `approved`, `used` only if the
 *   stored state equals `expectedState`, else `ConflictError`; `NotFoundError` when missing.
 *   `listApprovals` returns a vault's requests newest first (`created`, then commit order).
 * - The audit log is append-only: `appendAudit` adds an entry and there is, on purpose, no method
 *   to change or remove one (a returned entry is a copy; changing it changes nothing stored).
 *   The catalog assigns `seq`, ignoring any the caller passes: 1 for a vault's first entry, then
 *   one more than the vault's previous entry, without gaps, each vault numbered on its own. An
 *   append is atomic, also against concurrent appends, and returns the entry as `listAudit` will
 *   return it. It is not idempotent: appending the same entry twice records it twice. An append
 *   to a vault that does not exist rejects with `NotFoundError` naming it and uses up no `seq`.
 * - `listAudit` returns a vault's entries in ascending `seq` (not `at`: clocks may step back),
 *   those after `afterSeq` that match the query, the first `limit` of them; `afterSeq` and
 *   `limit` are integers >= 0 (anything else is a `ValidationError`). A vault without entries,
 *   or that does not exist, has none.
 */
export interface Catalog {
  createVault(vault: VaultRecord): Promise<void>;
  getVault(id: string): Promise<VaultRecord>;

  putDisk(disk: DiskRecord): Promise<void>;
  getDisk(vaultId: string, name: string): Promise<DiskRecord>;
  listDisks(vaultId: string): Promise<DiskRecord[]>;

  commitRecoveryPoint(point: RecoveryPointRecord, expectedParent: string | null): Promise<void>;
  getRecoveryPoint(vaultId: string, id: string): Promise<RecoveryPointRecord>;
  listRecoveryPoints(vaultId: string, disk?: string): Promise<RecoveryPointRecord[]>;
  latestRecoveryPoint(vaultId: string, disk: string): Promise<RecoveryPointRecord | undefined>;
  updateRecoveryPoint(
    vaultId: string,
    id: string,
    changes: Partial<Pick<RecoveryPointRecord, "tier" | "state" | "deleteAfter" | "retainUntil">>,
  ): Promise<RecoveryPointRecord>;

  createJob(job: JobRecord): Promise<void>;
  getJob(vaultId: string, id: string): Promise<JobRecord>;
  updateJob(
    vaultId: string,
    id: string,
    changes: Partial<Omit<JobRecord, "id" | "vaultId">>,
    expected?: JobExpectation,
  ): Promise<JobRecord>;
  listJobs(vaultId: string, query?: JobQuery): Promise<JobRecord[]>;

  putPolicy(policy: PolicyRecord, expectedVersion: number | null): Promise<void>;
  getPolicy(vaultId: string, name: string): Promise<PolicyRecord>;
  listPolicies(vaultId: string): Promise<PolicyRecord[]>;
  deletePolicy(vaultId: string, name: string, expectedVersion: number): Promise<void>;

  getSettings(vaultId: string): Promise<VaultSettings>;
  putSettings(settings: VaultSettings, expectedVersion: number): Promise<void>;

  createApproval(approval: ApprovalRecord): Promise<void>;
  getApproval(vaultId: string, id: string): Promise<ApprovalRecord>;
  listApprovals(vaultId: string, query?: ApprovalQuery): Promise<ApprovalRecord[]>;
  updateApproval(
    vaultId: string,
    id: string,
    changes: Partial<Pick<ApprovalRecord, "state" | "approver" | "approved" | "used">>,
    expectedState: ApprovalState,
  ): Promise<ApprovalRecord>;

  appendAudit(entry: Omit<AuditEntry, "seq">): Promise<AuditEntry>;
  listAudit(vaultId: string, query?: AuditQuery): Promise<AuditEntry[]>;

  close(): Promise<void>;
}

import { isDeepStrictEqual } from "node:util";
import { AlreadyExistsError, ConflictError, NotFoundError } from "../errors.ts";
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
} from "../model.ts";
import type { ApprovalQuery, AuditQuery, Catalog, JobExpectation, JobQuery } from "../ports/catalog.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retry } from "./retry.ts";
import { retryConditional } from "./retry-conditional.ts";
import { retryCreate } from "./retry-create.ts";

/**
 * A {@link Catalog} decorator that retries calls failing with a retryable error (see
 * {@link retry}), keeping the catalog's contract.
 *
 * Reads, `putDisk` (create or replace), `updateJob` and `updateRecoveryPoint` (which set absolute
 * values) are safe to repeat and are simply retried. The conditional writes are not: a retry after a lost
 * response finds the record its own earlier attempt wrote and gets `AlreadyExistsError`. That
 * error on a retry (never on the first attempt) counts as success only when the stored record is
 * the one we tried to write, compared on fields that identify it:
 * - a recovery point: id, disk, parent and manifest (the manifest's content address is unique to
 *   the backup that wrote it; state and tier may legitimately change right after the commit);
 * - a vault: every field (vaults never change);
 * - a job: type, start time, disk, recovery point and detail (its progress may already have
 *   moved on). Two creators of the same job id with identical such fields cannot be told apart.
 *
 * `putPolicy` and `putSettings` are conditional on the stored version, so a retry after a lost
 * response is refused the same way: `ConflictError` (the version moved on), or for a new policy
 * `AlreadyExistsError`. Such a refusal on a retry counts as success only when the stored record
 * is the whole record we wrote, version included: the version alone could be another writer's
 * change that started from the same version. An identical write by someone else is harmless.
 *
 * `createApproval` is create-only, like `createJob`: `AlreadyExistsError` on a retry counts as
 * success only when the stored request is ours in every field its creator sets (all but `state`,
 * `approver`, `approved` and `used`, which an approver may change right after the create).
 * `updateApproval` is conditional on the stored state, so a retry after a lost response meets
 * `ConflictError` (the state moved on: by our own change, or by someone else's). That counts as
 * success only when the stored request shows exactly our changes applied, and then the stored
 * request is what the call returns.
 *
 * `appendAudit` is passed through unretried: an append is not idempotent (see the method).
 *
 * `close` is passed through unretried: it is local teardown, and the contract makes it idempotent.
 */
export class RetryingCatalog implements Catalog {
  readonly #inner: Catalog;
  readonly #policy: RetryPolicy;

  /**
   * @param inner the catalog to call.
   * @param policy attempts, backoff and timers; {@link DEFAULT_RETRY_POLICY} unless given.
   */
  constructor(inner: Catalog, policy: RetryPolicy = DEFAULT_RETRY_POLICY) {
    this.#inner = inner;
    this.#policy = policy;
  }

  #retry<T>(call: () => Promise<T>, what: string): Promise<T> {
    return retry(call, this.#policy, what);
  }

  createVault(vault: VaultRecord): Promise<void> {
    return retryCreate(
      () => this.#inner.createVault(vault),
      async () => isDeepStrictEqual({ ...(await this.#inner.getVault(vault.id)) }, { ...vault }),
      this.#policy,
      `create vault ${vault.id}`,
    );
  }

  getVault(id: string): Promise<VaultRecord> {
    return this.#retry(() => this.#inner.getVault(id), `get vault ${id}`);
  }

  putDisk(disk: DiskRecord): Promise<void> {
    return this.#retry(() => this.#inner.putDisk(disk), `put disk ${disk.name}`);
  }

  getDisk(vaultId: string, name: string): Promise<DiskRecord> {
    return this.#retry(() => this.#inner.getDisk(vaultId, name), `get disk ${name}`);
  }

  listDisks(vaultId: string): Promise<DiskRecord[]> {
    return this.#retry(() => this.#inner.listDisks(vaultId), `list disks of vault ${vaultId}`);
  }

  commitRecoveryPoint(point: RecoveryPointRecord, expectedParent: string | null): Promise<void> {
    return retryCreate(
      () => this.#inner.commitRecoveryPoint(point, expectedParent),
      async () => samePoint(await this.#inner.getRecoveryPoint(point.vaultId, point.id), point),
      this.#policy,
      `commit recovery point ${point.id}`,
    );
  }

  getRecoveryPoint(vaultId: string, id: string): Promise<RecoveryPointRecord> {
    return this.#retry(() => this.#inner.getRecoveryPoint(vaultId, id), `get recovery point ${id}`);
  }

  listRecoveryPoints(vaultId: string, disk?: string): Promise<RecoveryPointRecord[]> {
    return this.#retry(
      () => this.#inner.listRecoveryPoints(vaultId, disk),
      `list recovery points of ${disk === undefined ? `vault ${vaultId}` : `disk ${disk}`}`,
    );
  }

  latestRecoveryPoint(vaultId: string, disk: string): Promise<RecoveryPointRecord | undefined> {
    return this.#retry(
      () => this.#inner.latestRecoveryPoint(vaultId, disk),
      `get latest recovery point of disk ${disk}`,
    );
  }

  updateRecoveryPoint(
    vaultId: string,
    id: string,
    changes: Partial<Pick<RecoveryPointRecord, "tier" | "state" | "deleteAfter" | "retainUntil">>,
  ): Promise<RecoveryPointRecord> {
    return this.#retry(
      () => this.#inner.updateRecoveryPoint(vaultId, id, changes),
      `update recovery point ${id}`,
    );
  }

  createJob(job: JobRecord): Promise<void> {
    return retryCreate(
      () => this.#inner.createJob(job),
      async () => sameJob(await this.#inner.getJob(job.vaultId, job.id), job),
      this.#policy,
      `create job ${job.id}`,
    );
  }

  getJob(vaultId: string, id: string): Promise<JobRecord> {
    return this.#retry(() => this.#inner.getJob(vaultId, id), `get job ${id}`);
  }

  updateJob(
    vaultId: string,
    id: string,
    changes: Partial<Omit<JobRecord, "id" | "vaultId">>,
    expected?: JobExpectation,
  ): Promise<JobRecord> {
    // A conditional update retried after a lost response may find its own write and refuse:
    // the caller then sees a lost race it actually won, which its next look corrects.
    return this.#retry(() => this.#inner.updateJob(vaultId, id, changes, expected), `update job ${id}`);
  }

  listJobs(vaultId: string, query?: JobQuery): Promise<JobRecord[]> {
    return this.#retry(() => this.#inner.listJobs(vaultId, query), `list jobs of vault ${vaultId}`);
  }

  putPolicy(policy: PolicyRecord, expectedVersion: number | null): Promise<void> {
    // Only the refusal this write can meet when its own earlier attempt landed is ambiguous.
    const refusal = expectedVersion === null ? AlreadyExistsError : ConflictError;
    return retryConditional(
      () => this.#inner.putPolicy(policy, expectedVersion),
      (err) => err instanceof refusal,
      async () => sameJson(await this.#inner.getPolicy(policy.vaultId, policy.name), policy),
      this.#policy,
      `put policy ${policy.name}`,
    );
  }

  deletePolicy(vaultId: string, name: string, expectedVersion: number): Promise<void> {
    // A retry after a lost answer finds the policy gone: its own delete landed.
    return retryConditional(
      () => this.#inner.deletePolicy(vaultId, name, expectedVersion),
      (err) => err instanceof NotFoundError,
      async () =>
        this.#inner.getPolicy(vaultId, name).then(
          () => false,
          (err: unknown) => err instanceof NotFoundError,
        ),
      this.#policy,
      `delete policy ${name}`,
    );
  }

  getPolicy(vaultId: string, name: string): Promise<PolicyRecord> {
    return this.#retry(() => this.#inner.getPolicy(vaultId, name), `get policy ${name}`);
  }

  listPolicies(vaultId: string): Promise<PolicyRecord[]> {
    return this.#retry(() => this.#inner.listPolicies(vaultId), `list policies of vault ${vaultId}`);
  }

  getSettings(vaultId: string): Promise<VaultSettings> {
    return this.#retry(() => this.#inner.getSettings(vaultId), `get settings of vault ${vaultId}`);
  }

  putSettings(settings: VaultSettings, expectedVersion: number): Promise<void> {
    return retryConditional(
      () => this.#inner.putSettings(settings, expectedVersion),
      (err) => err instanceof ConflictError,
      async () => sameJson(await this.#inner.getSettings(settings.vaultId), settings),
      this.#policy,
      `put settings of vault ${settings.vaultId}`,
    );
  }

  createApproval(approval: ApprovalRecord): Promise<void> {
    return retryCreate(
      () => this.#inner.createApproval(approval),
      async () => sameRequest(await this.#inner.getApproval(approval.vaultId, approval.id), approval),
      this.#policy,
      `create approval ${approval.id}`,
    );
  }

  getApproval(vaultId: string, id: string): Promise<ApprovalRecord> {
    return this.#retry(() => this.#inner.getApproval(vaultId, id), `get approval ${id}`);
  }

  listApprovals(vaultId: string, query?: ApprovalQuery): Promise<ApprovalRecord[]> {
    return this.#retry(() => this.#inner.listApprovals(vaultId, query), `list approvals of vault ${vaultId}`);
  }

  async updateApproval(
    vaultId: string,
    id: string,
    changes: Partial<Pick<ApprovalRecord, "state" | "approver" | "approved" | "used">>,
    expectedState: ApprovalState,
  ): Promise<ApprovalRecord> {
    // Set by whichever succeeds: the write, or the check that finds the write landed.
    let result: ApprovalRecord | undefined;
    await retryConditional(
      async () => {
        result = await this.#inner.updateApproval(vaultId, id, changes, expectedState);
      },
      (err) => err instanceof ConflictError,
      async () => {
        const stored = await this.#inner.getApproval(vaultId, id);
        if (!changesApplied(stored, changes, expectedState)) return false;
        result = stored;
        return true;
      },
      this.#policy,
      `update approval ${id}`,
    );
    return result as ApprovalRecord;
  }

  /**
   * Passed through, never retried. An append is not idempotent (the catalog numbers every entry
   * it is given), so repeating one whose response was lost would record the operation twice, and
   * nothing tells our own earlier entry from a genuine second one: the same principal may well do
   * the same thing twice in one millisecond. Nor can we tell a failure that stopped the write from
   * one that hid it. A duplicate would be a false record in a log meant as evidence; a failed
   * append at least reaches the caller, who knows whether to try again.
   */
  appendAudit(entry: Omit<AuditEntry, "seq">): Promise<AuditEntry> {
    return this.#inner.appendAudit(entry);
  }

  listAudit(vaultId: string, query?: AuditQuery): Promise<AuditEntry[]> {
    return this.#retry(() => this.#inner.listAudit(vaultId, query), `list the audit log of vault ${vaultId}`);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

/**
 * Whether two records hold the same data as JSON sees it. Records are JSON data (see the model),
 * so a catalog may read back a field written as `undefined` as absent, and keys in any order.
 */
function sameJson(stored: object, ours: object): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(stored)), JSON.parse(JSON.stringify(ours)));
}

function samePoint(stored: RecoveryPointRecord, ours: RecoveryPointRecord): boolean {
  return (
    stored.id === ours.id &&
    stored.disk === ours.disk &&
    stored.parent === ours.parent &&
    stored.manifest === ours.manifest
  );
}

function sameJob(stored: JobRecord, ours: JobRecord): boolean {
  return (
    stored.id === ours.id &&
    stored.type === ours.type &&
    stored.started === ours.started &&
    stored.disk === ours.disk &&
    stored.recoveryPoint === ours.recoveryPoint &&
    isDeepStrictEqual(stored.detail, ours.detail)
  );
}

/** Whether `stored` is the request `ours` created, in every field set at creation. */
function sameRequest(stored: ApprovalRecord, ours: ApprovalRecord): boolean {
  return (
    stored.id === ours.id &&
    stored.operation === ours.operation &&
    stored.target === ours.target &&
    stored.paramsDigest === ours.paramsDigest &&
    stored.requester === ours.requester &&
    stored.created === ours.created &&
    stored.expires === ours.expires
  );
}

/**
 * Whether `stored` holds exactly what our update wrote: each changed field as we gave it (absent
 * when we cleared it), and the state we set, or `expectedState` when we left it alone (a state
 * other than that means someone else moved it, so the refusal was not ours).
 */
function changesApplied(
  stored: ApprovalRecord,
  changes: Partial<Pick<ApprovalRecord, "state" | "approver" | "approved" | "used">>,
  expectedState: ApprovalState,
): boolean {
  const ours = { state: expectedState, ...changes };
  return Object.entries(ours).every(([name, value]) => stored[name as keyof typeof ours] === value);
}

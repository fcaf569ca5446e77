import { isDeepStrictEqual } from "node:util";
import { AlreadyExistsError, ConflictError, NotFoundError } from "../errors.ts";
import type {
  ApprovalRecord,
  ApprovalState,
  JobRecord,
  RecoveryPointRecord,
  VmPointRecord,
} from "../model.ts";
import type { ApprovalChanges, Catalog } from "../ports/catalog.ts";
import { decorate, type WrapperTable } from "./decorate.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retry } from "./retry.ts";
import { retryConditional } from "./retry-conditional.ts";
import { retryCreate } from "./retry-create.ts";

/**
 * Decorates a {@link Catalog} so that it retries calls failing with a retryable error (see
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
 *
 * Each method's treatment is one entry of a table the compiler checks for completeness (see
 * {@link WrapperTable}): a method added to the port cannot be left unretried by accident.
 *
 * @param inner the catalog to call.
 * @param policy attempts, backoff and timers; {@link DEFAULT_RETRY_POLICY} unless given.
 */
export function retryingCatalog(inner: Catalog, policy: RetryPolicy = DEFAULT_RETRY_POLICY): Catalog {
  return decorate(inner, catalogRetries(policy));
}

/** A call retried as it is: it is safe to repeat (a read, or a write of absolute values). */
function repeated<A extends unknown[], R>(policy: RetryPolicy, what: (args: NoInfer<A>) => string) {
  return (call: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      retry(() => call(...args), policy, what(args));
}

/** A call passed through untouched. */
const once = <F>(call: F): F => call;

/** How each method of the catalog is retried. */
function catalogRetries(policy: RetryPolicy): WrapperTable<Catalog> {
  return {
    createVault: (call, inner) => (vault) =>
      retryCreate(
        () => call(vault),
        async () => isDeepStrictEqual({ ...(await inner.getVault(vault.id)) }, { ...vault }),
        policy,
        `create vault ${vault.id}`,
      ),
    getVault: repeated(policy, ([id]) => `get vault ${id}`),
    putDisk: repeated(policy, ([disk]) => `put disk ${disk.name}`),
    getDisk: repeated(policy, ([, name]) => `get disk ${name}`),
    listDisks: repeated(policy, ([vaultId]) => `list disks of vault ${vaultId}`),
    commitRecoveryPoint: (call, inner) => (point, expectedParent) =>
      retryCreate(
        () => call(point, expectedParent),
        async () => samePoint(await inner.getRecoveryPoint(point.vaultId, point.id), point),
        policy,
        `commit recovery point ${point.id}`,
      ),
    getRecoveryPoint: repeated(policy, ([, id]) => `get recovery point ${id}`),
    listRecoveryPoints: repeated(
      policy,
      ([vaultId, disk]) =>
        `list recovery points of ${disk === undefined ? `vault ${vaultId}` : `disk ${disk}`}`,
    ),
    latestRecoveryPoint: repeated(policy, ([, disk]) => `get latest recovery point of disk ${disk}`),
    updateRecoveryPoint: repeated(policy, ([, id]) => `update recovery point ${id}`),
    createJob: (call, inner) => (job) =>
      retryCreate(
        () => call(job),
        async () => sameJob(await inner.getJob(job.vaultId, job.id), job),
        policy,
        `create job ${job.id}`,
      ),
    getJob: repeated(policy, ([, id]) => `get job ${id}`),
    // A conditional update retried after a lost response may find its own write and refuse:
    // the caller then sees a lost race it actually won, which its next look corrects.
    updateJob: repeated(policy, ([, id]) => `update job ${id}`),
    listJobs: repeated(policy, ([vaultId]) => `list jobs of vault ${vaultId}`),
    putPolicy: (call, inner) => (record, expectedVersion) => {
      // Only the refusal this write can meet when its own earlier attempt landed is ambiguous.
      const refusal = expectedVersion === null ? AlreadyExistsError : ConflictError;
      return retryConditional(
        () => call(record, expectedVersion),
        (err) => err instanceof refusal,
        async () => sameJson(await inner.getPolicy(record.vaultId, record.name), record),
        policy,
        `put policy ${record.name}`,
      );
    },
    // A retry after a lost answer finds the policy gone: its own delete landed.
    deletePolicy: (call, inner) => (vaultId, name, expectedVersion) =>
      retryConditional(
        () => call(vaultId, name, expectedVersion),
        (err) => err instanceof NotFoundError,
        () =>
          inner.getPolicy(vaultId, name).then(
            () => false,
            (err: unknown) => err instanceof NotFoundError,
          ),
        policy,
        `delete policy ${name}`,
      ),
    getPolicy: repeated(policy, ([, name]) => `get policy ${name}`),
    listPolicies: repeated(policy, ([vaultId]) => `list policies of vault ${vaultId}`),
    getSettings: repeated(policy, ([vaultId]) => `get settings of vault ${vaultId}`),
    putSettings: (call, inner) => (settings, expectedVersion) =>
      retryConditional(
        () => call(settings, expectedVersion),
        (err) => err instanceof ConflictError,
        async () => sameJson(await inner.getSettings(settings.vaultId), settings),
        policy,
        `put settings of vault ${settings.vaultId}`,
      ),
    createApproval: (call, inner) => (approval) =>
      retryCreate(
        () => call(approval),
        async () => sameRequest(await inner.getApproval(approval.vaultId, approval.id), approval),
        policy,
        `create approval ${approval.id}`,
      ),
    getApproval: repeated(policy, ([, id]) => `get approval ${id}`),
    listApprovals: repeated(policy, ([vaultId]) => `list approvals of vault ${vaultId}`),
    updateApproval: (call, inner) => async (vaultId, id, changes, expectedState) => {
      // Set by whichever succeeds: the write, or the check that finds the write landed.
      let result: ApprovalRecord | undefined;
      await retryConditional(
        async () => {
          result = await call(vaultId, id, changes, expectedState);
        },
        (err) => err instanceof ConflictError,
        async () => {
          const stored = await inner.getApproval(vaultId, id);
          if (!changesApplied(stored, changes, expectedState)) return false;
          result = stored;
          return true;
        },
        policy,
        `update approval ${id}`,
      );
      return result as ApprovalRecord;
    },
    /*
     * Passed through, never retried. An append is not idempotent (the catalog numbers every entry
     * it is given), so repeating one whose response was lost would record the operation twice, and
     * nothing tells our own earlier entry from a genuine second one: the same principal may well do
     * the same thing twice in one millisecond. Nor can we tell a failure that stopped the write from
     * one that hid it. A duplicate would be a false record in a log meant as evidence; a failed
     * append at least reaches the caller, who knows whether to try again.
     */
    appendAudit: once,
    listAudit: repeated(policy, ([vaultId]) => `list the audit log of vault ${vaultId}`),
    putVm: repeated(policy, ([vm]) => `put VM ${vm.name}`),
    getVm: repeated(policy, ([, name]) => `get VM ${name}`),
    listVms: repeated(policy, ([vaultId]) => `list VMs of vault ${vaultId}`),
    // Like a point's commit: a retry that finds its own VM point (same job, same disk points) landed.
    commitVmPoint: (call, inner) => (vmPoint, disks) =>
      retryCreate(
        () => call(vmPoint, disks),
        async () => sameVmPoint(await inner.getVmPoint(vmPoint.vaultId, vmPoint.id), vmPoint),
        policy,
        `commit VM point ${vmPoint.id}`,
      ),
    getVmPoint: repeated(policy, ([, id]) => `get VM point ${id}`),
    listVmPoints: repeated(policy, ([vaultId]) => `list VM points of vault ${vaultId}`),
    vmPointOf: repeated(policy, ([, id]) => `find the VM point of point ${id}`),
    updateVmPoint: repeated(policy, ([, id]) => `update VM point ${id}`),
    close: once,
  };
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

function sameVmPoint(stored: VmPointRecord, ours: VmPointRecord): boolean {
  return (
    stored.id === ours.id &&
    stored.job === ours.job &&
    isDeepStrictEqual([...stored.points], [...ours.points])
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
  changes: ApprovalChanges,
  expectedState: ApprovalState,
): boolean {
  const ours = { state: expectedState, ...changes };
  return Object.entries(ours).every(([name, value]) => stored[name as keyof typeof ours] === value);
}

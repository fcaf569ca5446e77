import { isDeepStrictEqual } from "node:util";
import type { DiskRecord, JobRecord, RecoveryPointRecord, VaultRecord } from "../model.ts";
import type { Catalog, JobQuery } from "../ports/catalog.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retry } from "./retry.ts";
import { retryCreate } from "./retry-create.ts";

/**
 * A {@link Catalog} decorator that retries calls failing with a retryable error (see
 * {@link retry}), keeping the catalog's contract.
 *
 * Reads, `putDisk` (create or replace) and the `update*` methods (which set absolute values) are
 * safe to repeat and are simply retried. The conditional writes are not: a retry after a lost
 * response finds the record its own earlier attempt wrote and gets `AlreadyExistsError`. That
 * error on a retry (never on the first attempt) counts as success only when the stored record is
 * the one we tried to write, compared on fields that identify it:
 * - a recovery point: id, disk, parent and manifest (the manifest's content address is unique to
 *   the backup that wrote it; state and tier may legitimately change right after the commit);
 * - a vault: every field (vaults never change);
 * - a job: type, start time, disk, recovery point and detail (its progress may already have
 *   moved on). Two creators of the same job id with identical such fields cannot be told apart.
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
    changes: Partial<Pick<RecoveryPointRecord, "tier" | "state" | "deleteAfter">>,
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
  ): Promise<JobRecord> {
    return this.#retry(() => this.#inner.updateJob(vaultId, id, changes), `update job ${id}`);
  }

  listJobs(vaultId: string, query?: JobQuery): Promise<JobRecord[]> {
    return this.#retry(() => this.#inner.listJobs(vaultId, query), `list jobs of vault ${vaultId}`);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
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

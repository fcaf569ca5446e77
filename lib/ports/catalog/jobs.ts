import { ConflictError } from "../../errors.ts";
import type { JobRecord, JobStatus } from "../../model.ts";

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

/** The fields of a job its runner may change. */
export type JobChanges = Partial<Omit<JobRecord, "id" | "vaultId">>;

/**
 * The jobs of each vault: every backup, restore and maintenance run, tracked to its end.
 *
 * Contract (test/contract/catalog-jobs.contract.ts):
 * - `createJob` is conditional on the id: an existing one rejects with `AlreadyExistsError`.
 * - `getJob` of a missing id rejects with `NotFoundError`.
 * - `updateJob` replaces the named fields and returns the result (`NotFoundError` when there is
 *   none), merging like object spread (an optional field given as `undefined` is cleared, a
 *   required one is a `ValidationError`). With `expected` it changes the job only if it meets it
 *   (see {@link JobExpectation}), atomically with the check; otherwise it rejects with a
 *   non-retryable `ConflictError` and changes nothing.
 * - `listJobs` returns a vault's jobs newest first (greatest `started`, equal times by commit
 *   order, later first), filtered by the query; `limit` keeps the first that many (an integer
 *   >= 0; anything else is a `ValidationError`).
 */
export interface JobCatalog {
  createJob(job: JobRecord): Promise<void>;
  getJob(vaultId: string, id: string): Promise<JobRecord>;
  updateJob(vaultId: string, id: string, changes: JobChanges, expected?: JobExpectation): Promise<JobRecord>;
  listJobs(vaultId: string, query?: JobQuery): Promise<JobRecord[]>;
}

import { AlreadyExistsError, NotFoundError } from "../../../errors.ts";
import type { JobRecord } from "../../../model.ts";
import { checkJobExpectation, type JobExpectation, type JobQuery } from "../../../ports/catalog.ts";
import { checkCount, merge } from "./codec.ts";
import { INDEX, itemKey, part, SK, vaultPk } from "./keys.ts";
import { checkJob, JOB_FIELDS, JOB_REQUIRED, jobFromItem, jobItem } from "./records.ts";
import { AGAIN, untilSettled } from "./retry.ts";
import type { DynamoTable } from "./store.ts";
import { NOT_EXISTS, nextTicket, writeInVault } from "./vaults.ts";

/** Jobs in the DynamoDB catalog. */

type JobChanges = Partial<Omit<JobRecord, "id" | "vaultId">>;

const jobKey = (vaultId: string, id: string) => itemKey(vaultId, SK.job + id);

/** Creates the job; `AlreadyExistsError` when its id exists in the vault, `NotFoundError` without a vault. */
export async function createJob(table: DynamoTable, job: JobRecord): Promise<void> {
  const what = `create job ${String(job.id)} in vault ${String(job.vaultId)}`;
  checkJob(what, job);
  const ticket = await nextTicket(table, job.vaultId, what);
  const put = { put: jobItem(job, { ticket, rev: 0 }), condition: NOT_EXISTS };
  await writeInVault(
    table,
    job.vaultId,
    put,
    what,
    () => new AlreadyExistsError(`${what}: job ${job.id} already exists`),
  );
}

export async function getJob(table: DynamoTable, vaultId: string, id: string): Promise<JobRecord> {
  const item = await table.get(jobKey(vaultId, id), `get job ${id} of vault ${vaultId}`);
  if (item === undefined) throw new NotFoundError(`job ${id} in vault ${vaultId} not found`);
  return jobFromItem(item);
}

/**
 * Applies `changes` like object spread (only if the job meets `expected`), conditional on the
 * job's revision (read again when it moved on), rewriting its listing keys: a new status, disk or start time moves it in them.
 */
export async function updateJob(
  table: DynamoTable,
  vaultId: string,
  id: string,
  changes: JobChanges,
  expected?: JobExpectation,
): Promise<JobRecord> {
  const what = `update job ${id} of vault ${vaultId}`;
  return untilSettled(what, async () => {
    const item = await table.get(jobKey(vaultId, id), what);
    if (item === undefined) throw new NotFoundError(`${what}: job ${id} not found`);
    const existing = jobFromItem(item);
    // Checked on the revision read; the put below is conditional on that revision, so the check
    // and the write are one atomic step.
    if (expected) checkJobExpectation(what, existing, expected);
    const updated = merge(what, existing, changes, JOB_FIELDS, JOB_REQUIRED);
    checkJob(what, updated);
    const rev = item.rev as number;
    const next = jobItem(updated, { ticket: item.ticket as number, rev: rev + 1 });
    const expr = { names: { "#rev": "rev" }, values: { ":rev": rev } };
    return (await table.put(next, "#rev = :rev", what, expr)) ? updated : AGAIN;
  });
}

/**
 * The vault's jobs newest first, from the narrowest listing the query allows: by disk (`lsi3`,
 * status filtered), by status (`lsi2`) or all (`lsi1`); the limit counts jobs that match.
 */
export async function listJobs(
  table: DynamoTable,
  vaultId: string,
  query: JobQuery = {},
): Promise<JobRecord[]> {
  const what = `list jobs of vault ${vaultId}`;
  const { status, disk, limit } = query;
  checkCount(what, "job list limit", limit);
  const values: Record<string, unknown> = { ":pk": vaultPk(vaultId) };
  let index: string = INDEX.lsi1;
  let filter: string | undefined;
  values[":prefix"] = "JB#";
  if (disk !== undefined) {
    index = INDEX.lsi3;
    values[":prefix"] = `JD#${part(disk)}#`;
    if (status !== undefined) {
      filter = "#status = :status";
      values[":status"] = status;
    }
  } else if (status !== undefined) {
    index = INDEX.lsi2;
    values[":prefix"] = `JS#${part(status)}#`;
  }
  const items = await table.query(
    {
      IndexName: index,
      KeyConditionExpression: `pk = :pk AND begins_with(${index}, :prefix)`,
      FilterExpression: filter,
      ExpressionAttributeNames: filter === undefined ? undefined : { "#status": "status" },
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
    },
    what,
    limit ?? Infinity,
  );
  return items.map(jobFromItem);
}

/** The operations of the `JobCatalog` port. */
export const jobOps = { createJob, getJob, updateJob, listJobs } as const;

import { withPrediction } from "../../engine/restore/predict.ts";
import type { JobStatus } from "../../model.ts";
import type { JobQuery } from "../../ports/catalog.ts";
import { approvalOf, type Call, param } from "./call.ts";
import { publicMessage } from "./errors.ts";
import { type HttpResponse, json } from "./types.ts";

/** `GET /recovery-points?disk=`: newest first, whatever their state. */
export async function listRecoveryPoints(call: Call): Promise<HttpResponse> {
  const disk = call.query.disk as string | undefined;
  return json(200, { items: (await call.vault.listPoints(disk)).map(withPrediction) });
}

/** `GET /recovery-points/{id}`: an available or soft-deleted point (purged ones are gone). */
export async function getRecoveryPoint(call: Call): Promise<HttpResponse> {
  return json(200, withPrediction(await call.vault.getPoint(param(call, "id"))));
}

/** `DELETE /recovery-points/{id}`: a soft delete, done at once, so 200 with the new state. */
export async function deleteRecoveryPoint(call: Call): Promise<HttpResponse> {
  return json(200, await call.vault.deletePoint(param(call, "id"), approvalOf(call)));
}

/** `POST /recovery-points/{id}/undelete`. */
export async function undeleteRecoveryPoint(call: Call): Promise<HttpResponse> {
  return json(200, await call.vault.undeletePoint(param(call, "id")));
}

/** `GET /jobs?status=&disk=&limit=`: newest first. */
export async function listJobs(call: Call): Promise<HttpResponse> {
  const { status, disk, limit } = call.query;
  const query: JobQuery = {
    ...(status !== undefined ? { status: status as JobStatus } : {}),
    ...(disk !== undefined ? { disk: disk as string } : {}),
    ...(limit !== undefined ? { limit: limit as number } : {}),
  };
  const jobs = await call.vault.listJobs(query);
  // A failed job's message as a response may carry it (no SDK class names, no stack frames).
  return json(200, {
    items: jobs.map((j) => (j.error === undefined ? j : { ...j, error: publicMessage(j.error) })),
  });
}

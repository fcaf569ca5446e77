import type { Vault } from "../../vault.ts";
import { gatherFacts } from "../observe/facts.ts";
import { checkHealth } from "../observe/health.ts";
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from "../observe/prometheus.ts";
import { reportSince, usageReport } from "../observe/usage-report.ts";
import type { Call } from "./call.ts";
import { type HttpResponse, json } from "./types.ts";

/** `GET /metrics`: the vault's metrics in the Prometheus text format (reader). */
export async function getMetrics(call: Call): Promise<HttpResponse> {
  const text = await prometheusText(await gatherFacts(call.vault));
  return { status: 200, headers: { "content-type": PROMETHEUS_CONTENT_TYPE }, body: text };
}

/** The answer of `GET /healthz`: 200 when the catalog and the object store answer, else 503. */
export async function healthResponse(vault: Vault, log?: (line: string) => void): Promise<HttpResponse> {
  const health = await checkHealth(vault, log);
  return json(health.status === "ok" ? 200 : 503, health);
}

/** `GET /healthz` through the API (the cloud's route, IAM-authorized like every route). */
export async function getHealth(call: Call): Promise<HttpResponse> {
  return healthResponse(call.vault);
}

/** `GET /reports/usage?since=`: per vault and per protected item (reader). */
export async function getUsageReport(call: Call): Promise<HttpResponse> {
  const facts = await gatherFacts(call.vault);
  const since = reportSince(call.query.since as string | undefined, facts.now);
  return json(200, usageReport(facts, since));
}

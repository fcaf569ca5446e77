import middy from "@middy/core";
import { schedulerTick } from "../lib/app/scheduler.ts";
import { logger, metrics } from "./observability.ts";
import { cloudApp } from "./runtime.ts";

/**
 * EventBridge schedule → one scheduler tick: due disks get a queued job and a message on the
 * fan-out queue; retention is applied. Ticks are idempotent, so overlapping or repeated
 * invocations do no harm.
 */
export const handler = middy(async () => {
  const report = await schedulerTick(await cloudApp());
  logger.info("scheduler tick", { sent: report.sent.length, expired: report.expired.length });
  metrics.addMetric("BackupsScheduled", "Count", report.sent.length);
  metrics.publishStoredMetrics();
  return { sent: report.sent.map((r) => r.jobId), expired: report.expired };
});

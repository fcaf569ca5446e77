import { schedulerTick } from "../lib/app/scheduler.ts";
import { logger, observedHandler, recordMetric } from "./observability.ts";
import { cloudApp } from "./runtime.ts";

/**
 * EventBridge schedule → one scheduler tick: due disks get a queued job and a message on the
 * fan-out queue; retention is applied. Ticks are idempotent, so overlapping or repeated
 * invocations do no harm.
 */
export const handler = observedHandler(async () => {
  const report = await schedulerTick(await cloudApp());
  logger.info("scheduler tick", { sent: report.sent.length, expired: report.expired.length });
  recordMetric("BackupsScheduled", report.sent.length);
  recordMetric("PointsExpired", report.expired.length);
  return { sent: report.sent.map((r) => r.jobId), expired: report.expired };
});

import { schedulerTick } from "../lib/app/scheduler.ts";
import { logger, observedHandler, recordMetric, recordMetricWith } from "./observability.ts";
import { cloudApp } from "./runtime.ts";

/**
 * EventBridge schedule → one scheduler tick: due disks get a queued job and a message on the
 * fan-out queue; retention is applied; protected items past their RPO are alerted once each. Ticks are idempotent, so overlapping or repeated
 * invocations do no harm.
 */
export const handler = observedHandler(async () => {
  const report = await schedulerTick(await cloudApp());
  logger.info("scheduler tick", {
    sent: report.sent.length,
    expired: report.expired.length,
    outsideRpo: report.rpo.missed.map((m) => m.disk),
  });
  recordMetric("BackupsScheduled", report.sent.length);
  recordMetric("PointsExpired", report.expired.length);
  // Every tick, 0 included: the MissedBackup alarm reads the maximum, and no data means no tick.
  recordMetric("ItemsOutsideRpo", report.rpo.missed.length);
  recordMetric("ApprovalsPending", report.approvalsPending);
  for (const [tier, bytes] of Object.entries(report.storageBytes))
    recordMetricWith("StorageBytes", bytes, { tier });
  return { sent: report.sent.map((r) => r.jobId), expired: report.expired };
});

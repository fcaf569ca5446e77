import { runLifecycleTask } from "../lib/app/lifecycle/dispatch.ts";
import type { GarbageCounts } from "../lib/app/lifecycle/expiry.ts";
import { Machine } from "../lib/ports/workflows.ts";
import { countFailedJob, logger, observedHandler, recordMetric } from "./observability.ts";
import { cloudApp } from "./runtime.ts";

/**
 * Step Functions (`lambda:invoke`) → one task of the tiering, expiry or restore state machine,
 * named by `event.task`. A thrown error reaches the machine as the invocation's `errorType` (the
 * error's name), which its Retry and Catch clauses match; it is logged and counted, not caught.
 */
export const handler = observedHandler(async (event: unknown) => {
  const task = String((event as { task?: unknown } | null)?.task);
  logger.appendKeys({ task });
  try {
    const result = await runLifecycleTask(await cloudApp(), event);
    // A machine's failure path ends in fail-job: that is where a failed job is counted, once.
    if (task === "fail-job") {
      countFailedJob();
      if ((event as { machine?: unknown }).machine === Machine.Restore) recordMetric("RestoresFailed", 1);
    }
    if (task === "collect-garbage") recordMetric("GcBytesReclaimed", (result as GarbageCounts).bytesFreed);
    if (task === "run-verifications")
      recordMetric("VerificationsFailed", (result as { failed: number }).failed);
    // Zero on success too, so the failure rate has a denominator and no gaps.
    recordMetric("LifecycleTasksFailed", 0);
    return result;
  } catch (err) {
    logger.error("lifecycle task failed", { error: err as Error });
    recordMetric("LifecycleTasksFailed", 1);
    throw err;
  }
});

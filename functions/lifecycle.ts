import middy from "@middy/core";
import { runLifecycleTask } from "../lib/app/lifecycle/dispatch.ts";
import { countFailedJob, logger, metrics } from "./observability.ts";
import { cloudApp } from "./runtime.ts";

/**
 * Step Functions (`lambda:invoke`) → one task of the tiering, expiry or restore state machine,
 * named by `event.task`. A thrown error reaches the machine as the invocation's `errorType` (the
 * error's name), which its Retry and Catch clauses match; nothing is caught here.
 */
export const handler = middy(async (event: unknown) => {
  const task = (event as { task?: unknown } | null)?.task;
  try {
    const result = await runLifecycleTask(await cloudApp(), event);
    // A machine's failure path ends in fail-job: that is where a failed job is counted, once.
    if (task === "fail-job") countFailedJob();
    return result;
  } catch (err) {
    logger.error("lifecycle task failed", { task: String(task), error: String(err) });
    throw err;
  } finally {
    metrics.publishStoredMetrics();
  }
});

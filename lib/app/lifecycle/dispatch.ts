import { BlockvaultError, TransientError, ValidationError } from "../../errors.ts";
import type { AppContext } from "../app-context.ts";
import { copyDisk, planCopies, reportCopies } from "./copy.ts";
import { collectVaultGarbage, purgeExpiredPoints, runVerifications } from "./expiry.ts";
import type { TaskEvent } from "./input.ts";
import { completeJob, failMachineJob, startMachineJob } from "./jobs.ts";
import { assembleRestore, planRestore, pollRehydration, requestRehydration } from "./restore.ts";
import { applyTierChange, finishTiering, listTierChanges } from "./tiering.ts";

/** One task of a state machine: what its `Payload.task` names. */
export type LifecycleTask = (app: AppContext, event: TaskEvent) => Promise<unknown>;

/** Every task the state machines in infra/statemachines/ may name, by name. */
export const LIFECYCLE_TASKS = {
  "start-job": startMachineJob,
  "complete-job": completeJob,
  "fail-job": failMachineJob,
  "list-tier-changes": listTierChanges,
  "apply-tier-change": applyTierChange,
  "finish-tiering": finishTiering,
  "purge-expired": purgeExpiredPoints,
  "collect-garbage": collectVaultGarbage,
  "run-verifications": runVerifications,
  "plan-restore": planRestore,
  "request-rehydration": requestRehydration,
  "poll-rehydration": pollRehydration,
  "assemble-restore": assembleRestore,
  "plan-copies": planCopies,
  "copy-disk": copyDisk,
  "report-copies": reportCopies,
} as const satisfies Record<string, LifecycleTask>;

export type LifecycleTaskName = keyof typeof LIFECYCLE_TASKS;

function isTaskName(name: unknown): name is LifecycleTaskName {
  return typeof name === "string" && Object.hasOwn(LIFECYCLE_TASKS, name);
}

/**
 * Runs the task a state machine's Lambda invocation names in `event.task` (an unknown or
 * missing name is a `ValidationError`). Errors propagate: Step Functions sees the error's
 * `name` as the Lambda's `errorType`, which the machines' Retry and Catch clauses match. A
 * retryable error of another class is rethrown as a `TransientError` carrying it as `cause`, so
 * the job and the alert name every passing failure alike. The machines do not retry it: the call
 * that raised it already did (docs/design.md "Retry layers").
 */
export async function runLifecycleTask(app: AppContext, event: unknown): Promise<unknown> {
  const payload = (typeof event === "object" && event !== null ? event : {}) as TaskEvent;
  if (!isTaskName(payload.task)) {
    throw new ValidationError(
      `unknown lifecycle task ${JSON.stringify(payload.task)}; expected one of ${Object.keys(LIFECYCLE_TASKS).join(", ")}`,
    );
  }
  try {
    return await LIFECYCLE_TASKS[payload.task](app, payload);
  } catch (err) {
    if (err instanceof BlockvaultError && err.retryable && err.name !== TransientError.name) {
      throw new TransientError(err.message, { cause: err });
    }
    throw err;
  }
}

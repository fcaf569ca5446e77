import { validateRange } from "../../engine/restore/restore.ts";
import { ValidationError } from "../../errors.ts";
import { JobStatus, JobType } from "../../model.ts";
import { RESTORE_TIERS, type RestoreRequest, type RestoreTier } from "../../ports/object-archive.ts";
import { Operation } from "../../rules/roles.ts";
import type { Vault } from "../../vault.ts";
import type { AppContext } from "../app-context.ts";
import { RehydrationTimeoutError } from "./errors.ts";
import {
  optionalCount,
  optionalRange,
  optionalText,
  restoreTarget,
  stateInput,
  type TaskEvent,
  text,
} from "./input.ts";
import { pollSchedule, pollWaitSeconds } from "./poll-schedule.ts";
import { rehydrate, restorePacks, unreadablePacks } from "./restore-packs.ts";
import { systemVault } from "./system-vault.ts";

/** Days a rehydrated copy stays readable: long enough for the slowest pack of the same request. */
const DEFAULT_RESTORE_DAYS = 2;

/** Checks that the job is the restore job of this point and marks it running. */
async function markRunning(vault: Vault, jobId: string, pointId: string): Promise<void> {
  const { catalog } = vault.ctx.deps;
  const job = await catalog.getJob(vault.id, jobId);
  if (job.type !== JobType.Restore || (job.recoveryPoint !== undefined && job.recoveryPoint !== pointId)) {
    throw new ValidationError(`job ${jobId} is not the restore job of recovery point ${pointId}`);
  }
  if (job.status !== JobStatus.Running)
    await catalog.updateJob(vault.id, jobId, { status: JobStatus.Running });
}

function restoreRequest(input: Readonly<Record<string, unknown>>): RestoreRequest {
  const tier = optionalText(input, "tier") ?? "Standard";
  if (!RESTORE_TIERS.includes(tier as RestoreTier)) {
    throw new ValidationError(`tier must be one of ${RESTORE_TIERS.join(", ")}`);
  }
  return { tier: tier as RestoreTier, days: optionalCount(input, "days", 1) ?? DEFAULT_RESTORE_DAYS };
}

/** The poll count so far (`$.poll.attempt`), 0 before the first poll. */
function attemptsSoFar(input: Readonly<Record<string, unknown>>): number {
  const poll = input.poll as { attempt?: unknown } | undefined;
  return typeof poll?.attempt === "number" ? poll.attempt : 0;
}

/**
 * `plan-restore`: marks the job running, finds the packs the restore reads and how many of them
 * are not readable yet (archived or being restored).
 */
export async function planRestore(
  app: AppContext,
  event: TaskEvent,
): Promise<{ size: number; packs: number; archived: number }> {
  const input = stateInput(event);
  const jobId = text(input, "jobId");
  const pointId = text(input, "pointId");
  restoreTarget(input);
  restoreRequest(input);
  const vault = await systemVault(app);
  vault.authorize(Operation.Restore);
  await markRunning(vault, jobId, pointId);
  const { range, keys } = await restorePacks(vault.ctx, pointId, optionalRange(input));
  const { archived, restoring } = await unreadablePacks(app.archive, keys);
  return { size: range.length, packs: keys.length, archived: archived.length + restoring.length };
}

/** Where rehydration stands after a request or a poll. */
export interface RehydrationState {
  readonly attempt: number;
  readonly ready: boolean;
  readonly pending: number;
  /** How long the machine waits before its next poll (the schedule's wait after `attempt` polls). */
  readonly waitSeconds: number;
}

/** `request-rehydration`: asks for readable copies of the archived packs the restore reads. */
export async function requestRehydration(app: AppContext, event: TaskEvent): Promise<RehydrationState> {
  const input = stateInput(event);
  const schedule = pollSchedule(input);
  const vault = await systemVault(app);
  vault.authorize(Operation.Restore);
  const { keys } = await restorePacks(vault.ctx, text(input, "pointId"), optionalRange(input));
  const pending = await rehydrate(app.archive, keys, restoreRequest(input));
  // The count carries over: an assemble that met an archived pack comes back here, and must
  // not get a fresh allowance of polls (or a short wait again) each time.
  const attempt = attemptsSoFar(input);
  return { attempt, ready: pending === 0, pending, waitSeconds: pollWaitSeconds(schedule, attempt) };
}

/**
 * `poll-rehydration`: counts one more poll and reports whether every pack is readable, and how
 * long to wait before the next. Packs archived again meanwhile (an expired copy) are requested
 * again. At the schedule's last poll (or the input's `maxPolls`, when lower) it throws
 * {@link RehydrationTimeoutError}.
 */
export async function pollRehydration(app: AppContext, event: TaskEvent): Promise<RehydrationState> {
  const input = stateInput(event);
  const schedule = pollSchedule(input);
  const vault = await systemVault(app);
  vault.authorize(Operation.Restore);
  const { keys } = await restorePacks(vault.ctx, text(input, "pointId"), optionalRange(input));
  const pending = await rehydrate(app.archive, keys, restoreRequest(input));
  const attempt = attemptsSoFar(input) + 1;
  if (pending > 0 && attempt >= schedule.maxPolls) {
    throw new RehydrationTimeoutError(
      `${pending} of ${keys.length} packs were still not readable after ${attempt} polls`,
    );
  }
  return { attempt, ready: pending === 0, pending, waitSeconds: pollWaitSeconds(schedule, attempt) };
}

/**
 * `assemble-restore`: runs the engine's restore of the point into a new target, which verifies
 * every block before writing it and commits the target only when all are in place.
 */
export async function assembleRestore(
  app: AppContext,
  event: TaskEvent,
): Promise<{ target: string; bytesRestored: number; blocksVerified: number }> {
  const input = stateInput(event);
  const jobId = text(input, "jobId");
  const pointId = text(input, "pointId");
  const spec = restoreTarget(input);
  const vault = await systemVault(app);
  vault.authorize(Operation.Restore);
  const point = await vault.getPoint(pointId);
  const range = optionalRange(input);
  const target = await app.openTarget(spec, validateRange(range, point.logicalSize).length);
  try {
    const result = await vault.restore(pointId, target, { jobId, ...(range ? { range } : {}) });
    return {
      target: result.target,
      bytesRestored: result.bytesRestored,
      blocksVerified: result.blocksVerified,
    };
  } catch (err) {
    // The engine aborts what it opened itself; a failure before it started must not leave a
    // half-made target behind either (abort is safe twice).
    await target.abort().catch(() => {});
    throw err;
  }
}

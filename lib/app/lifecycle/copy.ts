import { ValidationError } from "../../errors.ts";
import { type CopyOutcome, type CopyWork, copyWork, runCopyWork } from "../../rules/copy-rules.ts";
import { Operation } from "../../rules/roles.ts";
import type { AppContext } from "../app-context.ts";
import { stateInput, type TaskEvent, text } from "./input.ts";
import { systemVault } from "./system-vault.ts";

/**
 * Most (disk, rule) pairs one copy execution works through: the plan travels through Step
 * Functions' state data (256 KiB at most); the pairs past it wait for the next run (`more`).
 */
export const MAX_COPY_WORK = 500;

/** `plan-copies`: every protected disk's copy rules, one work item each. */
export async function planCopies(
  app: AppContext,
  _event: TaskEvent,
): Promise<{ work: CopyWork[]; more: boolean }> {
  const vault = await systemVault(app);
  vault.authorize(Operation.RunDue);
  const work = await copyWork(vault);
  return { work: work.slice(0, MAX_COPY_WORK), more: work.length > MAX_COPY_WORK };
}

/** `copy-disk`: runs one disk's copy rule (`input.work`); per-point failures are in the outcomes. */
export async function copyDisk(app: AppContext, event: TaskEvent): Promise<{ outcomes: CopyOutcome[] }> {
  const work = workOf(stateInput(event));
  const open = app.openCopyDestination;
  if (!open) throw new ValidationError("this runtime has no way to open copy destinations");
  const vault = await systemVault(app);
  vault.authorize(Operation.RunDue);
  return { outcomes: await runCopyWork(vault, work, open) };
}

/** One item of the copy machine's Map: the task's outcomes, or the error that ended it. */
interface CopyItemResult {
  readonly outcomes?: readonly CopyOutcome[];
  readonly failed?: boolean;
  readonly disk?: string;
  readonly vault?: string;
  readonly error?: string;
  readonly cause?: string;
}

/** What a copy run did, counted by outcome. */
export interface CopyReport {
  readonly copied: number;
  readonly alreadyCopied: number;
  readonly busy: number;
  readonly failed: number;
  readonly more: boolean;
}

/**
 * `report-copies`: alerts on every failed copy (and every disk whose copy task itself failed),
 * then counts the outcomes. The failed copies' jobs already read failed; the next run retries them.
 */
export async function reportCopies(app: AppContext, event: TaskEvent): Promise<CopyReport> {
  const results = Array.isArray(event.results) ? (event.results as CopyItemResult[]) : [];
  const outcomes = results.flatMap((result) => outcomesOf(result));
  await alertFailedCopies(app, outcomes);
  const count = (status: CopyOutcome["status"]) => outcomes.filter((o) => o.status === status).length;
  return {
    copied: count("copied"),
    alreadyCopied: count("already-copied"),
    busy: count("busy"),
    failed: count("failed"),
    more: event.more === true,
  };
}

/** Publishes one alert per failed copy; an alert that cannot be sent does not fail the run. */
export async function alertFailedCopies(app: AppContext, outcomes: readonly CopyOutcome[]): Promise<void> {
  for (const copy of outcomes.filter((c) => c.status === "failed")) {
    await app.alerts
      .publish({
        subject: `blockvault: copy of disk ${copy.disk} to ${copy.destination} failed`,
        message: `${copy.sourcePoint ? `recovery point ${copy.sourcePoint}: ` : ""}${copy.error ?? "failed"}; the next copy run tries again`,
        ...(copy.jobId ? { jobId: copy.jobId } : {}),
      })
      .catch(() => undefined);
  }
}

function outcomesOf(result: CopyItemResult): CopyOutcome[] {
  if (result.failed !== true) return [...(result.outcomes ?? [])];
  const error = [result.error, result.cause].filter(Boolean).join(": ") || "the copy task failed";
  return [
    {
      disk: result.disk ?? "?",
      sourcePoint: "",
      destination: result.vault ?? "?",
      jobId: "",
      status: "failed",
      error,
    },
  ];
}

function workOf(input: Readonly<Record<string, unknown>>): CopyWork {
  const work = input.work;
  if (typeof work !== "object" || work === null)
    throw new ValidationError("work must be an object {disk, vault}");
  const item = work as Record<string, unknown>;
  return { disk: text(item, "disk"), vault: text(item, "vault") };
}

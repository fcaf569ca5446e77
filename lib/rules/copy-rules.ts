import { createHash } from "node:crypto";
import { copyRef } from "../engine/copy/point-source.ts";
import { failJob } from "../engine/jobs/jobs.ts";
import type { VaultContext } from "../engine/store/vault-config.ts";
import { NotFoundError } from "../errors.ts";
import { type DiskRecord, JobType, PointState, type RecoveryPointRecord } from "../model.ts";
import type { CopyRule } from "../policy/policy.ts";
import type { Vault } from "../vault.ts";
import { claimJob } from "./job-claim.ts";
import { policyOf } from "./policies.ts";

/** Opens the destination a copy rule names, as the runtime reaches it (the caller closes it). */
export type OpenCopyDestination = (rule: CopyRule) => Promise<Vault>;

/** How one copy went. */
export interface CopyOutcome {
  readonly disk: string;
  readonly sourcePoint: string;
  readonly destination: string;
  readonly jobId: string;
  readonly status: "copied" | "already-copied" | "busy" | "failed";
  readonly destinationPoint?: string;
  readonly error?: string;
}

/** At most this many points are copied per rule and run: a long catch-up spreads over runs. */
export const COPIES_PER_RUN = 10;

/** One copy rule of one protected disk: what a copy run works through. */
export interface CopyWork {
  readonly disk: string;
  /** The rule's destination (`CopyRule.vault`). */
  readonly vault: string;
}

/** Every (disk, copy rule) pair the protected disks' policies hold, in disk order. */
export async function copyWork(source: Vault): Promise<CopyWork[]> {
  const work: CopyWork[] = [];
  for (const disk of await source.ctx.deps.catalog.listDisks(source.id)) {
    const policy = await policyOf(source.ctx, disk);
    for (const rule of policy?.copyTo ?? []) work.push({ disk: disk.name, vault: rule.vault });
  }
  return work;
}

/**
 * Runs every copy rule of every protected disk's policy once (see {@link runCopyWork}); the
 * embedded runtime and the copy state machine run the same pairs one by one.
 */
export async function runCopyRules(source: Vault, open: OpenCopyDestination): Promise<CopyOutcome[]> {
  const outcomes: CopyOutcome[] = [];
  for (const work of await copyWork(source)) outcomes.push(...(await runCopyWork(source, work, open)));
  return outcomes;
}

/**
 * Runs one disk's copy rule: each point made since the newest one the destination already holds
 * (just the newest point, before the first copy) is copied, oldest first, and kept there for the
 * rule's days. Each copy is a job of the source vault with an id derived from the point and the
 * destination, created conditionally, so two runs at once never copy a point twice and a failed
 * or killed copy is taken up again by the next run. `source` acts as the scheduler (its copies
 * read points as restores do); failures are reported, not thrown, so one unreachable
 * destination does not stop the others. A disk or rule gone since the work was planned copies
 * nothing.
 */
export async function runCopyWork(
  source: Vault,
  work: CopyWork,
  open: OpenCopyDestination,
): Promise<CopyOutcome[]> {
  const disk = await source.ctx.deps.catalog.getDisk(source.id, work.disk).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  if (!disk) return [];
  const rule = (await policyOf(source.ctx, disk))?.copyTo?.find((r) => r.vault === work.vault);
  return rule ? runRule(source, disk, rule, open) : [];
}

async function runRule(
  source: Vault,
  disk: DiskRecord,
  rule: CopyRule,
  open: OpenCopyDestination,
): Promise<CopyOutcome[]> {
  let destination: Vault;
  try {
    destination = await open(rule);
  } catch (err) {
    const error = `cannot open the copy destination ${rule.vault}: ${messageOf(err)}`;
    return [
      { disk: disk.name, sourcePoint: "", destination: rule.vault, jobId: "", status: "failed", error },
    ];
  }
  try {
    const copied = await copiedPoints(source, destination, disk.name);
    const pending = pendingPoints(await availablePoints(source.ctx, disk.name), copied);
    const outcomes: CopyOutcome[] = [];
    for (const point of pending.slice(0, COPIES_PER_RUN)) {
      outcomes.push(await copyOne(source, destination, rule, point));
    }
    return outcomes;
  } finally {
    await destination.close();
  }
}

/** The source's points of `disk` the destination holds a copy of (any state): point → copy id. */
async function copiedPoints(source: Vault, destination: Vault, disk: string): Promise<Map<string, string>> {
  const copies = await destination.ctx.deps.catalog.listRecoveryPoints(destination.id, disk);
  const byRef = new Map(copies.map((copy) => [copy.sourceRef, copy.id]));
  const sourcePoints = await source.ctx.deps.catalog.listRecoveryPoints(source.id, disk);
  const out = new Map<string, string>();
  for (const point of sourcePoints) {
    const copy = byRef.get(copyRef(source.id, point.id));
    if (copy !== undefined) out.set(point.id, copy);
  }
  return out;
}

/** The available points after the newest one copied (only the newest, if none is), oldest first. */
export function pendingPoints(
  oldestFirst: readonly RecoveryPointRecord[],
  copied: ReadonlyMap<string, string>,
): RecoveryPointRecord[] {
  const lastCopied = oldestFirst.findLastIndex((point) => copied.has(point.id));
  if (lastCopied < 0) return oldestFirst.slice(-1);
  return oldestFirst.slice(lastCopied + 1);
}

async function availablePoints(ctx: VaultContext, disk: string): Promise<RecoveryPointRecord[]> {
  const points = await ctx.deps.catalog.listRecoveryPoints(ctx.config.vaultId, disk);
  return points.filter((point) => point.state === PointState.Available).reverse();
}

async function copyOne(
  source: Vault,
  destination: Vault,
  rule: CopyRule,
  point: RecoveryPointRecord,
): Promise<CopyOutcome> {
  const jobId = copyJobId(point.id, rule.vault);
  const base = { disk: point.disk, sourcePoint: point.id, destination: rule.vault, jobId };
  const claim = await claimJob(source.ctx, {
    id: jobId,
    type: JobType.Copy,
    disk: point.disk,
    recoveryPoint: point.id,
    detail: { destination: rule.vault },
  });
  if (!claim) return { ...base, status: "busy" };
  try {
    // Looked up again under the claim: a copy that landed in the destination before its job was
    // marked completed (a crash between the two) is not made again.
    const existing = (await copiedPoints(source, destination, point.disk)).get(point.id);
    const destinationPoint =
      existing ??
      (await source.copyPoint(point.id, destination, { retainDays: rule.retention.days })).recoveryPointId;
    await claim.complete({ destinationPoint });
    return { ...base, status: existing ? "already-copied" : "copied", destinationPoint };
  } catch (err) {
    const error = await failJob(source.ctx, jobId, err, `copying ${point.id} to ${rule.vault}`);
    return { ...base, status: "failed", error: error.message };
  } finally {
    claim.stop();
  }
}

/** The copy job's id: the same for every run that copies this point to this destination. */
export function copyJobId(pointId: string, destination: string): string {
  const digest = createHash("sha256").update(`${pointId}\0${destination}`).digest("hex").slice(0, 24);
  return `copy-${digest}`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

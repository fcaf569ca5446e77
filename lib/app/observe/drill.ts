import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { predictRestore } from "../../engine/restore/predict.ts";
import { JobType, PointState, Tier } from "../../model.ts";
import { listPolicies } from "../../rules/policies.ts";
import type { Vault } from "../../vault.ts";
import type { AppContext } from "../app-context.ts";
import { type CheckOutcome, runDrillCheck, verifyImageHashes } from "./drill-image.ts";
import { makeScratch, sweepScratch } from "./drill-scratch.ts";
import { claimScheduledJob, endScheduledJob, runNumber } from "./scheduled-job.ts";

/** The predicted restore time of a point of `logicalSize` bytes, in ms (a point in the vault tier). */
export function predictRestoreMs(logicalSize: number): number {
  return predictRestore({ logicalSize, tier: Tier.Vault }).transferMs;
}

/** What one restore drill did. */
export interface DrillOutcome {
  readonly disk: string;
  readonly jobId: string;
  readonly recoveryPoint?: string;
  readonly ok: boolean;
  readonly restoreMs?: number;
  readonly predictedMs?: number;
  readonly blocksVerified?: number;
  readonly check?: CheckOutcome;
  readonly error?: string;
}

/** Where drills restore to: a private directory of its own per drill, removed afterwards. */
export interface DrillOptions {
  /** The directory scratch directories are made in; the system's temporary directory by default. */
  readonly scratchRoot?: string;
}

/**
 * Runs the restore drills due now: for each policy with a `restoreDrill`, once per run and disk,
 * the disk's latest available point is restored into a scratch file, every block re-hashed
 * against the manifest, the policy's check run on it, the measured time recorded beside the
 * predicted one, and the scratch directory removed whatever happened. Each is a `drill` job; a
 * failure is alerted as a failed backup is.
 */
export async function runScheduledDrills(
  app: AppContext,
  vault: Vault,
  options: DrillOptions = {},
): Promise<DrillOutcome[]> {
  const { catalog, clock } = vault.ctx.deps;
  const disks = await catalog.listDisks(vault.id);
  const out: DrillOutcome[] = [];
  const policies = (await listPolicies(vault.ctx)).filter((p) => p.definition.restoreDrill);
  // A drill killed mid-way (SIGKILL, a lost machine) left a whole disk image behind.
  if (policies.length > 0) await sweepScratch(options.scratchRoot ?? tmpdir());
  for (const policy of policies) {
    const drill = policy.definition.restoreDrill!;
    const run = runNumber(drill.everyDays, clock.now());
    for (const disk of disks.filter((d) => d.policy === policy.name)) {
      const jobId = `drill-${disk.name}-${run}`;
      const claimed = await claimScheduledJob(vault, {
        id: jobId,
        type: JobType.Drill,
        disk: disk.name,
        detail: { policy: policy.name, ...(drill.check ? { check: drill.check } : {}) },
      });
      if (!claimed) continue;
      const outcome = await drillDisk(vault, jobId, disk.name, drill.check, options);
      if (!outcome.ok) {
        await app.alerts
          .publish({
            subject: `blockvault: restore drill of disk ${disk.name} failed`,
            message: `${outcome.recoveryPoint ? `recovery point ${outcome.recoveryPoint}: ` : ""}${outcome.error}`,
            jobId,
          })
          .catch(() => undefined);
      }
      out.push(outcome);
    }
  }
  return out;
}

async function drillDisk(
  vault: Vault,
  jobId: string,
  disk: string,
  check: Parameters<typeof runDrillCheck>[0] | undefined,
  options: DrillOptions,
): Promise<DrillOutcome> {
  const point = (await vault.ctx.deps.catalog.listRecoveryPoints(vault.id, disk)).find(
    (p) => p.state === PointState.Available,
  );
  if (!point) {
    const error = `disk ${disk} has no available recovery point to restore`;
    await endScheduledJob(vault, jobId, { error });
    return { disk, jobId, ok: false, error };
  }
  const scratch = await makeScratch(options.scratchRoot ?? tmpdir());
  const predictedMs = predictRestoreMs(point.logicalSize);
  const base = { disk, jobId, recoveryPoint: point.id, predictedMs };
  try {
    const image = join(scratch, "drill.img");
    const started = performance.now();
    await vault.restoreToFile(point.id, image);
    const restoreMs = Math.round(performance.now() - started);
    const hashes = await verifyImageHashes(vault.ctx, point, image);
    const checked = check ? await runDrillCheck(check, image) : undefined;
    const error =
      hashes.mismatches > 0
        ? `${hashes.mismatches} block(s) of the restored image do not match the manifest (first at byte ${hashes.firstMismatch})`
        : checked && !checked.ok
          ? `${checked.command} found the restored file system damaged (exit ${checked.exitCode}): ${checked.output}`
          : undefined;
    await endScheduledJob(vault, jobId, {
      ...(error !== undefined ? { error } : {}),
      bytesScanned: point.logicalSize,
      detail: {
        recoveryPoint: point.id,
        restoreMs,
        predictedMs,
        blocksVerified: hashes.blocks - hashes.mismatches,
        ...(checked ? { checkCommand: checked.command, checkPassed: checked.ok } : {}),
      },
    });
    return {
      ...base,
      ok: error === undefined,
      restoreMs,
      blocksVerified: hashes.blocks - hashes.mismatches,
      ...(checked ? { check: checked } : {}),
      ...(error !== undefined ? { error } : {}),
    };
  } catch (err) {
    const error = `the restore failed: ${(err as Error).message}`;
    await endScheduledJob(vault, jobId, { error, detail: { recoveryPoint: point.id, predictedMs } }).catch(
      () => undefined,
    );
    return { ...base, ok: false, error };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

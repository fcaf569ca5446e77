import { type SubsetReport, verifyPointSubset } from "../../engine/check/verify-subset.ts";
import { JobType } from "../../model.ts";
import type { Verification } from "../../policy/policy.ts";
import { listPolicies } from "../../rules/policies.ts";
import type { Vault } from "../../vault.ts";
import type { AppContext } from "../app-context.ts";
import { claimScheduledJob, endScheduledJob, runNumber } from "./scheduled-job.ts";

/** What one scheduled verification did. */
export interface VerificationOutcome {
  readonly policy: string;
  readonly jobId: string;
  /** Which subset of the packs it read: `bucket` (0-based) of `buckets`. */
  readonly bucket: number;
  readonly buckets: number;
  readonly ok: boolean;
  readonly report?: SubsetReport;
  readonly error?: string;
}

/**
 * The run of `verification` due at `now`: runs start every `everyDays` days, and run k reads
 * subset `k mod buckets` of `buckets = ceil(readAllWithinDays / everyDays)`, so the runs of any
 * `readAllWithinDays` days read every pack. A run that never happens (the server was down that
 * day) leaves its subset to the next turn of the rotation.
 */
export function verificationRun(
  v: Verification,
  now: number,
): { run: number; bucket: number; buckets: number } {
  const run = runNumber(v.everyDays, now);
  const buckets = Math.ceil(v.readAllWithinDays / v.everyDays);
  return { run, bucket: run % buckets, buckets };
}

/** The one-line summary of what a run found wrong. */
function problems(report: SubsetReport): string {
  const parts = [
    report.brokenPoints.length > 0 &&
      `${report.brokenPoints.length} point(s) with a damaged or unbound manifest (${report.brokenPoints[0]!.id}: ${report.brokenPoints[0]!.error})`,
    report.unindexedBlocks > 0 && `${report.unindexedBlocks} block(s) no index names`,
    report.missingPacks.length > 0 &&
      `${report.missingPacks.length} pack(s) missing (${report.missingPacks[0]})`,
    report.badBlobs.length > 0 &&
      `${report.badBlobs.length} pack(s) failed verification (${report.badBlobs[0]!.pack}: ${report.badBlobs[0]!.error})`,
  ];
  return parts.filter(Boolean).join("; ");
}

/**
 * Runs the scheduled verifications due now, one per policy with a `verification`: each is a
 * `verify` job (claimed once per run), completed when the policy's points are sound, failed and
 * alerted when something is damaged or missing or the run could not finish.
 */
export async function runScheduledVerifications(
  app: AppContext,
  vault: Vault,
): Promise<VerificationOutcome[]> {
  const now = vault.ctx.deps.clock.now();
  const disks = await vault.ctx.deps.catalog.listDisks(vault.id);
  const out: VerificationOutcome[] = [];
  for (const policy of await listPolicies(vault.ctx)) {
    const verification = policy.definition.verification;
    const members = new Set(disks.filter((d) => d.policy === policy.name).map((d) => d.name));
    if (!verification || members.size === 0) continue;
    const { run, bucket, buckets } = verificationRun(verification, now);
    const jobId = `verify-${policy.name}-${run}`;
    const subset = `${bucket + 1}/${buckets}`;
    if (
      !(await claimScheduledJob(vault, {
        id: jobId,
        type: JobType.Verify,
        detail: { policy: policy.name, subset },
      }))
    )
      continue;
    let outcome: VerificationOutcome;
    try {
      const report = await verifyPointSubset(vault.ctx, members, { bucket, buckets });
      const error = report.ok ? undefined : problems(report);
      await endScheduledJob(vault, jobId, {
        ...(error !== undefined ? { error } : {}),
        detail: {
          points: report.points,
          packsNeeded: report.packsNeeded,
          packsRead: report.packsRead,
          blobsVerified: report.blobsVerified,
        },
      });
      outcome = {
        policy: policy.name,
        jobId,
        bucket,
        buckets,
        ok: report.ok,
        report,
        ...(error ? { error } : {}),
      };
    } catch (err) {
      const error = `verification could not finish: ${(err as Error).message}`;
      await endScheduledJob(vault, jobId, { error }).catch(() => undefined);
      outcome = { policy: policy.name, jobId, bucket, buckets, ok: false, error };
    }
    if (!outcome.ok) {
      await app.alerts
        .publish({
          subject: `blockvault: verification of policy ${policy.name} failed`,
          message: `subset ${subset} of the packs: ${outcome.error}`,
          jobId,
        })
        .catch(() => undefined);
    }
    out.push(outcome);
  }
  return out;
}

import type { BackupResult } from "../engine/backup/backup.ts";
import { runBackup } from "../engine/backup/backup.ts";
import { trackedReferences } from "../engine/gc/chain.ts";
import { type CollectResult, collectGarbage } from "../engine/gc/collect.ts";
import { abandonDeadJobs } from "../engine/jobs/dead-jobs.ts";
import { failJob, startJob } from "../engine/jobs/jobs.ts";
import type { VaultContext } from "../engine/store/vault-config.ts";
import type { VmBackupDeps } from "../engine/vm/backup-vm.ts";
import { BlockvaultError, ConflictError } from "../errors.ts";
import { JobStatus, JobType, PointState, Tier, type VmRecord } from "../model.ts";
import { tierFor } from "../policy/retention.ts";
import { dueSlots } from "../policy/schedule.ts";
import type { VolumeSource } from "../ports/volume-source.ts";
import { policyOf } from "./policies.ts";
import { expireDisk } from "./schedule.ts";
import { purgeExpired } from "./soft-delete.ts";
import { runDueVms, type VmDue } from "./vm-schedule.ts";

/** How far back a missed slot is still caught up (one backup, for the latest missed slot). */
const CATCH_UP_MS = 7 * 24 * 60 * 60 * 1000;

/** What one evaluation did, per protected disk. */
export interface DueReport {
  readonly backups: { disk: string; slot: number; result?: BackupResult; error?: string; skipped?: string }[];
  readonly expired: string[];
  readonly purged: string[];
  readonly tiered: { id: string; tier: string }[];
  /** Garbage collection after purging; absent for vaults that do not track references. */
  garbage?: CollectResult | { readonly skipped: string };
  /** What each VM under a policy did: its backup for the slot, the VM points it let go. */
  vms?: VmDue[];
}

/**
 * Evaluates every protected disk's policy against the clock: backs up a disk whose latest due
 * slot has no backup job yet (one job per disk and slot, so a re-run or an overlapping tick
 * does nothing twice), then applies retention (expired points are soft-deleted), moves points
 * from the snapshot to the vault tier as the policy says (archiving is the tiering state
 * machine's), and purges soft-deleted points whose period has ended.
 */
export async function runDue(
  ctx: VaultContext,
  open: (path: string) => Promise<VolumeSource>,
  openVm?: (vm: VmRecord) => Promise<VmBackupDeps>,
): Promise<DueReport> {
  const { catalog, clock } = ctx.deps;
  const vaultId = ctx.config.vaultId;
  const now = clock.now();
  const report: DueReport = { backups: [], expired: [], purged: [], tiered: [] };
  // Jobs of dead processes end as abandoned; an abandoned backup leaves its slot to be done again.
  await abandonDeadJobs(ctx);
  for (const disk of await catalog.listDisks(vaultId)) {
    const policy = await policyOf(ctx, disk);
    if (!policy) continue;
    const slot = dueSlots(policy, now - CATCH_UP_MS, now + 1).at(-1);
    if (slot !== undefined && slot >= disk.created - 60_000) {
      const jobs = await catalog.listJobs(vaultId, { disk: disk.name });
      const done = jobs.some(
        (j) => j.detail?.slot === slot && j.status !== JobStatus.Failed && j.status !== JobStatus.Abandoned,
      );
      if (done) report.backups.push({ disk: disk.name, slot, skipped: "already backed up for this slot" });
      else
        report.backups.push({
          disk: disk.name,
          slot,
          ...(await backupOne(ctx, open, disk.source, disk.name, slot)),
        });
    }
    report.expired.push(...(await expireDisk(ctx, disk, now)));
    const points = (await catalog.listRecoveryPoints(vaultId, disk.name)).filter(
      (p) => p.state === PointState.Available,
    );
    for (const p of points) {
      if (report.expired.includes(p.id)) continue;
      // Archiving moves packs to an archive storage class, which the tiering state machine does
      // (run by `blockvault serve` and in the cloud); a catalog-only move would hide the point
      // from it and leave its packs online. Here a point goes at most as far as the vault tier.
      const wanted = tierFor(policy, p, now);
      const tier = wanted === Tier.Archive ? Tier.Vault : wanted;
      if (tier !== p.tier && p.tier === Tier.Snapshot) {
        await catalog.updateRecoveryPoint(vaultId, p.id, { tier });
        report.tiered.push({ id: p.id, tier });
      }
    }
  }
  // VMs under a policy: their backups and retention, on VM points as one (vm-schedule.ts).
  report.vms = await runDueVms(ctx, openVm);
  report.expired.push(...report.vms.flatMap((v) => v.expired));
  report.purged.push(...(await purgeExpired(ctx)));
  if (await trackedReferences(ctx)) {
    try {
      report.garbage = await collectGarbage(ctx);
    } catch (err) {
      // Another collector holding the lease will do the same work; the next tick retries.
      if (!(err instanceof ConflictError)) throw err;
      report.garbage = { skipped: err.message };
    }
  }
  return report;
}

async function backupOne(
  ctx: VaultContext,
  open: (path: string) => Promise<VolumeSource>,
  path: string,
  disk: string,
  slot: number,
): Promise<{ result?: BackupResult; error?: string }> {
  let source: VolumeSource;
  try {
    source = await open(path);
  } catch (err) {
    // The job is tracked even when the disk could not be read at all.
    const jobId = await startJob(ctx, { type: JobType.Backup, disk, detail: { slot, source: path } });
    return { error: (await failJob(ctx, jobId, err, `backup of disk "${disk}"`)).message };
  }
  try {
    return { result: await runBackup(ctx, source, { disk, jobDetail: { slot } }) };
  } catch (err) {
    // One disk's failure (its job is marked failed) must not stop the others.
    if (err instanceof BlockvaultError) return { error: err.message };
    throw err;
  } finally {
    await source.close();
  }
}

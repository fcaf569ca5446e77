import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { JobStatus, JobType } from "../../model.ts";
import type { VaultFacts } from "./facts.ts";
import { storageByTier } from "./storage.ts";

/**
 * Bucket bounds of the backup duration histogram, in seconds: from a small incremental (a
 * second) to a full backup of a large disk (hours).
 */
export const BACKUP_DURATION_BUCKETS = [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400] as const;

/** The content type of the Prometheus text exposition format, version 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * The vault's metrics in the Prometheus text exposition format, computed from the catalog at
 * scrape time (so every replica of the server answers the same, and a restart loses nothing).
 * Counters are sums over the jobs and audit entries the catalog keeps, so they only grow.
 * The names are the Prometheus spellings of lib/metrics.ts's vocabulary; docs/design.md,
 * "Observability", lists them.
 */
export async function prometheusText(facts: VaultFacts): Promise<string> {
  const registry = new Registry();
  registry.setDefaultLabels({ vault: facts.vaultName });
  const registers = [registry];
  jobMetrics(facts, registers);
  pointMetrics(facts, registers);
  drillMetrics(facts, registers);
  new Gauge({
    name: "blockvault_approvals_pending",
    help: "Requests for a critical operation waiting for a second person's approval",
    registers,
  }).set(facts.pendingApprovals.length);
  new Counter({
    name: "blockvault_gc_reclaimed_bytes_total",
    help: "Bytes garbage collection freed (deleted packs)",
    registers,
  }).inc(facts.gcBytesReclaimed);
  return registry.metrics();
}

type Registers = Registry[];

function jobMetrics(facts: VaultFacts, registers: Registers): void {
  const jobs = new Gauge({
    name: "blockvault_jobs",
    help: "Jobs the catalog records, by type and current status",
    labelNames: ["type", "status"] as const,
    registers,
  });
  // Every combination is present, 0 when none: a rate or an alert rule never sees a gap.
  for (const type of Object.values(JobType))
    for (const status of Object.values(JobStatus)) jobs.set({ type, status }, 0);
  for (const job of facts.jobs) jobs.inc({ type: job.type, status: job.status });
  const scanned = new Counter({
    name: "blockvault_backup_bytes_scanned_total",
    help: "Bytes of disks completed backups examined",
    registers,
  });
  const stored = new Counter({
    name: "blockvault_backup_bytes_stored_total",
    help: "Bytes completed backups wrote to the object store, after deduplication and compression",
    registers,
  });
  const duration = new Histogram({
    name: "blockvault_backup_duration_seconds",
    help: "Wall-clock time of completed backups",
    buckets: [...BACKUP_DURATION_BUCKETS],
    registers,
  });
  for (const job of facts.jobs) {
    if (job.type !== JobType.Backup || job.status !== JobStatus.Completed) continue;
    scanned.inc(job.bytesScanned);
    stored.inc(job.bytesStored);
    if (job.ended !== undefined) duration.observe(Math.max(0, job.ended - job.started) / 1000);
  }
}

function pointMetrics(facts: VaultFacts, registers: Registers): void {
  const last = new Gauge({
    name: "blockvault_last_backup_success_timestamp_seconds",
    help: "Time of each protected item's latest available recovery point (Unix seconds)",
    labelNames: ["disk"] as const,
    registers,
  });
  const compliant = new Gauge({
    name: "blockvault_rpo_compliant",
    help: "1 when the protected item has a good point for its policy's latest slot due past the grace, else 0",
    labelNames: ["disk"] as const,
    registers,
  });
  for (const status of facts.rpo.values()) {
    if (status.lastGood !== undefined) last.set({ disk: status.disk }, status.lastGood / 1000);
    compliant.set({ disk: status.disk }, status.compliant ? 1 : 0);
  }
  const storage = new Gauge({
    name: "blockvault_storage_bytes",
    help: "Bytes the vault's available and soft-deleted points added to the store, by the tier they are in",
    labelNames: ["tier"] as const,
    registers,
  });
  for (const [tier, bytes] of Object.entries(storageByTier(facts.points))) storage.set({ tier }, bytes);
}

/** Each disk's latest completed restore drill: measured and predicted restore time. */
function drillMetrics(facts: VaultFacts, registers: Registers): void {
  const measured = new Gauge({
    name: "blockvault_drill_restore_seconds",
    help: "Restore time of each protected item's latest successful restore drill",
    labelNames: ["disk"] as const,
    registers,
  });
  const predicted = new Gauge({
    name: "blockvault_drill_predicted_restore_seconds",
    help: "The restore time predicted for that drill from the point's size",
    labelNames: ["disk"] as const,
    registers,
  });
  const seen = new Set<string>();
  // Jobs come newest first: the first completed drill of a disk is its latest.
  for (const job of facts.jobs) {
    if (job.type !== JobType.Drill || job.status !== JobStatus.Completed || !job.disk || seen.has(job.disk))
      continue;
    seen.add(job.disk);
    measured.set({ disk: job.disk }, Number(job.detail?.restoreMs ?? 0) / 1000);
    predicted.set({ disk: job.disk }, Number(job.detail?.predictedMs ?? 0) / 1000);
  }
}

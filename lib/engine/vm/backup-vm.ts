import { randomUUID } from "node:crypto";
import { ConflictError, ConsistencyError } from "../../errors.ts";
import {
  type Consistency,
  JobStatus,
  JobType,
  PointState,
  type RecoveryPointRecord,
  type VmPointRecord,
  type VmRecord,
} from "../../model.ts";
import type { Alerts } from "../../ports/alerts.ts";
import type { GuestAgent } from "../../ports/guest-agent.ts";
import type { SnapshotProvider } from "../../ports/snapshot-provider.ts";
import type { VolumeSource } from "../../ports/volume-source.ts";
import { overriding } from "../../util/overriding.ts";
import { type BackupResult, runBackup } from "../backup/backup.ts";
import { JobHeartbeat, LeaseKeeper } from "../jobs/heartbeat.ts";
import { failJob, startJob } from "../jobs/jobs.ts";
import type { VaultContext } from "../store/vault-config.ts";
import { type Capture, captureConsistent } from "./capture.ts";
import { captureDetail } from "./capture-detail.ts";
import { meetsMinimum } from "./levels.ts";
import { VmCommitBarrier } from "./vm-commit.ts";

/** What a VM backup needs beside the vault: the guest, the snapshots, and how to read them. */
export interface VmBackupDeps {
  /** The VM's guest agent; absent when it has none (the point is then crash-consistent). */
  readonly agent?: GuestAgent;
  readonly snapshots: SnapshotProvider;
  /** Opens a snapshot's source (a path, `ebs://snap-…`) for reading. */
  readonly openSource: (spec: string) => Promise<VolumeSource>;
  /** Where a job that fails its consistency minimum is reported. */
  readonly alerts?: Alerts;
}

/** One disk of a VM backup, as `backup --vm --json` prints it. */
export type VmDiskResult = Omit<BackupResult, "durationMs">;

/** What a VM backup did. */
export interface VmBackupResult {
  readonly vmRecoveryPointId: string;
  readonly jobId: string;
  readonly vm: string;
  readonly consistency: Consistency;
  readonly consistencyReason?: string;
  /** Each disk's point, in the VM's disk order. */
  readonly disks: readonly VmDiskResult[];
  readonly recoveryPointIds: readonly string[];
  /** How long the file systems were frozen (ms), when they were. */
  readonly freezeMs?: number;
  readonly capture: Pick<Capture, "steps" | "scripts" | "frozenAt" | "thawedAt">;
  readonly durationMs: number;
}

/**
 * Backs up `vm` as one VM recovery point: captures every disk at one moment, as consistent as
 * the guest allows (capture.ts), then backs each disk up from its snapshot as a point of its own
 * chain (incremental against that disk's latest point), and commits all of them and the VM point
 * in one catalog write (vm-commit.ts). A level below the VM's minimum fails the job and alerts
 * before any disk is read. The snapshots are released on every path.
 */
export async function runVmBackup(
  ctx: VaultContext,
  vm: VmRecord,
  deps: VmBackupDeps,
  jobDetail: Readonly<Record<string, string | number | boolean>> = {},
): Promise<VmBackupResult> {
  // One backup of a VM at a time: a second one's freeze and thaw would undo the first's.
  const lease = await vmLease(ctx, vm);
  try {
    return await backupVmOnce(ctx, vm, deps, jobDetail);
  } finally {
    await lease?.release().catch(() => undefined);
  }
}

/** The VM's backup lease, or a `ConflictError` when another backup of it holds it. */
async function vmLease(ctx: VaultContext, vm: VmRecord): Promise<LeaseKeeper | undefined> {
  const refs = ctx.deps.references;
  if (!refs) return undefined;
  const lease = await LeaseKeeper.acquire(ctx, refs, `vm-backup:${vm.name}`, `vm-backup:${randomUUID()}`);
  if (!lease)
    throw new ConflictError(`another backup of VM ${vm.name} is running; try again when it has ended`);
  return lease;
}

async function backupVmOnce(
  ctx: VaultContext,
  vm: VmRecord,
  deps: VmBackupDeps,
  jobDetail: Readonly<Record<string, string | number | boolean>>,
): Promise<VmBackupResult> {
  const { catalog, clock } = ctx.deps;
  const started = clock.now();
  const detail = { ...jobDetail, vm: vm.name };
  const jobId = await startJob(ctx, { type: JobType.Backup, detail }, { heartbeat: true });
  const heartbeat = JobHeartbeat.start(ctx, jobId);
  let capture: Capture | undefined;
  try {
    // The freeze window is physical time, whatever clock the vault runs on.
    capture = await captureConsistent(vm, { ...deps, now: () => Date.now() });
    await catalog.updateJob(ctx.config.vaultId, jobId, { detail: { ...detail, ...captureDetail(capture) } });
    checkMinimum(vm, capture);
    const vmPointId = randomUUID();
    const disks = await backupDisks(ctx, vm, deps, capture, { jobId, vmPointId, created: clock.now() });
    const result: VmBackupResult = {
      vmRecoveryPointId: vmPointId,
      jobId,
      vm: vm.name,
      consistency: capture.level,
      ...(capture.reason ? { consistencyReason: capture.reason } : {}),
      disks,
      recoveryPointIds: disks.map((d) => d.recoveryPointId),
      ...(capture.freezeMs !== undefined ? { freezeMs: capture.freezeMs } : {}),
      capture: {
        steps: capture.steps,
        scripts: capture.scripts,
        ...(capture.frozenAt !== undefined ? { frozenAt: capture.frozenAt } : {}),
        ...(capture.thawedAt !== undefined ? { thawedAt: capture.thawedAt } : {}),
      },
      durationMs: clock.now() - started,
    };
    heartbeat.stop();
    await completeVmJob(ctx, jobId, result).catch(() => undefined);
    return result;
  } catch (err) {
    heartbeat.stop();
    const failed = await failJob(ctx, jobId, err, `backup of VM "${vm.name}"`);
    if (failed instanceof ConsistencyError) {
      await deps.alerts
        ?.publish({
          subject: `VM ${vm.name}: backup below its consistency minimum`,
          message: failed.message,
          jobId,
        })
        .catch(() => undefined);
    }
    throw failed;
  } finally {
    await capture?.snapshots.release().catch(() => undefined);
  }
}

/** Refuses a capture below the VM's minimum level, naming both and why. */
function checkMinimum(vm: VmRecord, capture: Capture): void {
  const minimum = vm.consistency.minimum;
  if (minimum === undefined || meetsMinimum(capture.level, minimum)) return;
  throw new ConsistencyError(
    `VM ${vm.name} reached ${capture.level}, below the ${minimum} its policy requires: ${capture.reason ?? "no reason recorded"}`,
  );
}

/** Backs every disk up from its snapshot at once, committing them together through a barrier. */
async function backupDisks(
  ctx: VaultContext,
  vm: VmRecord,
  deps: VmBackupDeps,
  capture: Capture,
  ids: { jobId: string; vmPointId: string; created: number },
): Promise<VmDiskResult[]> {
  const barrier = new VmCommitBarrier(ctx, vm.disks.length, (points) =>
    vmPointRecord(ctx, vm, capture, ids, points),
  );
  const sources: VolumeSource[] = [];
  try {
    for (const [i, disk] of vm.disks.entries()) {
      const opened = await deps.openSource(capture.snapshots.sources[i]!);
      // Named by the disk it is a snapshot of: the disk's record keeps its real source.
      sources.push(overriding(opened, { description: disk.source }));
    }
    const runs = vm.disks.map((disk, i) =>
      runBackup(ctx, sources[i]!, {
        disk: disk.disk,
        consistency: capture.level,
        committer: barrier.committerFor(i),
        pointTime: ids.created,
        jobDetail: { vm: vm.name, vmJob: ids.jobId },
      }).catch((err: unknown) => {
        barrier.abort(err);
        throw err;
      }),
    );
    const settled = await Promise.allSettled(runs);
    await barrier.done;
    return settled.map((s) => {
      if (s.status === "rejected") throw s.reason;
      const { durationMs: _, ...disk } = s.value;
      return disk;
    });
  } catch (err) {
    barrier.abort(err);
    throw err;
  } finally {
    await Promise.all(sources.map((s) => s.close().catch(() => undefined)));
  }
}

function vmPointRecord(
  ctx: VaultContext,
  vm: VmRecord,
  capture: Capture,
  ids: { jobId: string; vmPointId: string; created: number },
  points: readonly RecoveryPointRecord[],
): VmPointRecord {
  return {
    id: ids.vmPointId,
    vaultId: ctx.config.vaultId,
    vm: vm.name,
    created: ids.created,
    points: points.map((p) => p.id),
    consistency: capture.level,
    ...(capture.reason ? { consistencyReason: capture.reason } : {}),
    state: PointState.Available,
    job: ids.jobId,
    disks: vm.disks,
    bootDisk: vm.bootDisk,
  };
}

async function completeVmJob(ctx: VaultContext, jobId: string, r: VmBackupResult): Promise<void> {
  const { catalog, clock } = ctx.deps;
  const job = await catalog.getJob(ctx.config.vaultId, jobId);
  const sum = (pick: (d: VmDiskResult) => number) => r.disks.reduce((n, d) => n + pick(d), 0);
  await catalog.updateJob(ctx.config.vaultId, jobId, {
    status: JobStatus.Completed,
    ended: clock.now(),
    recoveryPoint: r.vmRecoveryPointId,
    bytesScanned: sum((d) => d.bytesScanned),
    bytesChanged: sum((d) => d.bytesChanged),
    bytesStored: sum((d) => d.bytesStored),
    detail: { ...job.detail, vmPoint: r.vmRecoveryPointId, points: r.recoveryPointIds.join(",") },
  });
}

import type { VaultContext } from "../engine/store/vault-config.ts";
import type { VmBackupDeps } from "../engine/vm/backup-vm.ts";
import { runVmBackup } from "../engine/vm/backup-vm.ts";
import { AccessDeniedError, BlockvaultError } from "../errors.ts";
import { JobStatus, PointState, Tier, type VmRecord } from "../model.ts";
import type { BackupPolicy } from "../policy/policy.ts";
import { tierFor } from "../policy/retention.ts";
import { dueSlots } from "../policy/schedule.ts";
import { commitRetention, expirable } from "./point-retention.ts";
import { getPolicy } from "./policies.ts";
import { deleteVmPoint } from "./vm-points.ts";

/** How far back a missed slot is still caught up, as for disks. */
const CATCH_UP_MS = 7 * 24 * 60 * 60 * 1000;

/** What run-due did for one VM under a policy. */
export interface VmDue {
  readonly vm: string;
  readonly slot?: number;
  readonly vmRecoveryPointId?: string;
  readonly consistency?: string;
  readonly error?: string;
  readonly skipped?: string;
  /** VM points its retention soft-deleted, each with all its disks' points. */
  readonly expired: string[];
}

/**
 * The policy evaluation of every VM under a policy, as run-due does for disks: a VM backup for
 * the latest due slot that has none yet (one per VM and slot; without `open`, none is run), then
 * its retention, on VM points as one. The policy's ends are committed to every disk's points (they
 * share the VM point's time, so every disk gets the same ends), and each VM point the policy no
 * longer keeps is soft-deleted with all its disks' points (`deleteVmPoint`).
 */
export async function runDueVms(
  ctx: VaultContext,
  open: ((vm: VmRecord) => Promise<VmBackupDeps>) | undefined,
): Promise<VmDue[]> {
  const now = ctx.deps.clock.now();
  const out: VmDue[] = [];
  for (const vm of await ctx.deps.catalog.listVms(ctx.config.vaultId)) {
    if (!vm.policy) continue;
    const policy = (await getPolicy(ctx, vm.policy)).definition;
    const due = await backupIfDue(ctx, vm, policy, now, open);
    const expired = await expireVm(ctx, vm, policy, now);
    await tierVm(ctx, vm, policy, now);
    out.push({ vm: vm.name, ...due, expired });
  }
  return out;
}

async function backupIfDue(
  ctx: VaultContext,
  vm: VmRecord,
  policy: BackupPolicy,
  now: number,
  open: ((vm: VmRecord) => Promise<VmBackupDeps>) | undefined,
): Promise<Omit<VmDue, "vm" | "expired">> {
  const slot = dueSlots(policy, now - CATCH_UP_MS, now + 1).at(-1);
  if (slot === undefined || slot < vm.created - 60_000) return {};
  const jobs = await ctx.deps.catalog.listJobs(ctx.config.vaultId);
  const done = jobs.some(
    (j) =>
      j.detail?.vm === vm.name &&
      j.disk === undefined &&
      j.detail?.slot === slot &&
      j.status !== JobStatus.Failed &&
      j.status !== JobStatus.Abandoned,
  );
  if (done) return { slot, skipped: "already backed up for this slot" };
  if (!open) return { slot, skipped: "this runtime does not reach guest agents" };
  try {
    const deps = await open(vm);
    try {
      const r = await runVmBackup(ctx, vm, deps, { slot });
      return { slot, vmRecoveryPointId: r.vmRecoveryPointId, consistency: r.consistency };
    } finally {
      await deps.agent?.close().catch(() => undefined);
    }
  } catch (err) {
    // One VM's failure (its job is failed, and alerted below its minimum) must not stop the others.
    if (err instanceof BlockvaultError) return { slot, error: err.message };
    throw err;
  }
}

/** Commits the policy's ends to the VM's disks' points and soft-deletes the VM points it lets go. */
async function expireVm(
  ctx: VaultContext,
  vm: VmRecord,
  policy: BackupPolicy,
  now: number,
): Promise<string[]> {
  for (const disk of vm.disks) await commitRetention(ctx, disk.disk, policy);
  // Every disk's points share their VM points' times: the first disk's decide for all.
  const first = vm.disks[0]?.disk;
  if (first === undefined) return [];
  const points = (await ctx.deps.catalog.listRecoveryPoints(ctx.config.vaultId, first)).filter(
    (p) => p.state === PointState.Available,
  );
  const expired: string[] = [];
  for (const id of expirable(policy, points, now)) {
    const vmPoint = await ctx.deps.catalog.vmPointOf(ctx.config.vaultId, id);
    if (vmPoint === undefined) continue;
    try {
      await deleteVmPoint(ctx, vmPoint);
      expired.push(vmPoint);
    } catch (err) {
      // Another disk's point may still be held a little longer (its floor): a later tick goes on.
      if (!(err instanceof AccessDeniedError)) throw err;
    }
  }
  return expired;
}

/**
 * Moves the VM's kept points from the snapshot to the vault tier as the policy says, as run-due
 * does for disks (archiving is the tiering state machine's, which does not take VMs yet). The
 * disks' points of one VM point share its time, so they move together.
 */
async function tierVm(ctx: VaultContext, vm: VmRecord, policy: BackupPolicy, now: number): Promise<void> {
  for (const disk of vm.disks) {
    const points = await ctx.deps.catalog.listRecoveryPoints(ctx.config.vaultId, disk.disk);
    for (const p of points) {
      if (p.state !== PointState.Available || p.tier !== Tier.Snapshot) continue;
      if (tierFor(policy, p, now) === Tier.Snapshot) continue;
      await ctx.deps.catalog.updateRecoveryPoint(ctx.config.vaultId, p.id, { tier: Tier.Vault });
    }
  }
}

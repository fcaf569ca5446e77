import { ApprovalState, type Tier } from "../model.ts";
import type { SnapshotRequest } from "../ports/queue.ts";
import type { VmDue } from "../rules/vm-schedule.ts";
import type { AppContext } from "./app-context.ts";
import { checkRpo, type RpoCheck } from "./observe/rpo-alerts.ts";
import { storageByTier } from "./observe/storage.ts";
import { SYSTEM_PRINCIPAL } from "./system.ts";

/** What one scheduler tick did. */
export interface TickReport {
  /** The due disks sent to the snapshot workers, one request each. */
  readonly sent: SnapshotRequest[];
  /** Points retention soft-deleted. */
  readonly expired: string[];
  /** The missed-RPO check: every protected item's status, the misses, those alerted now. */
  readonly rpo: RpoCheck;
  /** Approval requests waiting for a second person (pending, not expired). */
  readonly approvalsPending: number;
  /** What the points hold in the store, by tier (see observe/storage.ts). */
  readonly storageBytes: Record<Tier, number>;
  /** VMs under a policy, where this runtime reaches their guests: backups due and retention. */
  readonly vms?: VmDue[];
}

/**
 * One scheduler tick: evaluates every policy against the clock, records one queued job per
 * (disk, due slot) — idempotently, so a re-run or an overlapping tick sends nothing twice — sends
 * one message per due disk to the fan-out queue and applies retention; then checks every protected
 * item against its RPO, alerting each miss once. The policies' copy rules run in the copy state
 * machine, on its own schedule.
 */
export async function schedulerTick(app: AppContext): Promise<TickReport> {
  const vault = (await app.vault()).as(SYSTEM_PRINCIPAL);
  const { requests, expired } = await vault.scheduleTick();
  if (requests.length > 0) await app.queue.send(requests);
  // A VM's backup freezes its guest, so it runs here, where the agents are, not in a worker.
  const vms = app.openVmDeps ? await vault.runDueVms(app.openVmDeps) : undefined;
  const points = await vault.ctx.deps.catalog.listRecoveryPoints(vault.id);
  const rpo = await checkRpo(app, vault, points);
  const now = vault.ctx.deps.clock.now();
  const pending = await vault.listApprovals({ state: ApprovalState.Pending });
  return {
    sent: requests,
    expired,
    rpo,
    approvalsPending: pending.filter((a) => a.expires > now).length,
    storageBytes: storageByTier(points),
    ...(vms ? { vms } : {}),
  };
}

import {
  type ApprovalRecord,
  ApprovalState,
  type DiskRecord,
  type JobRecord,
  type RecoveryPointRecord,
} from "../../model.ts";
import { Operation } from "../../rules/roles.ts";
import type { Vault } from "../../vault.ts";
import { latestGoodPoints, type RpoStatus, rpoStatus } from "./rpo.ts";

/** What the metrics, the health of the protected items and the reports are computed from. */
export interface VaultFacts {
  readonly vaultId: string;
  readonly vaultName: string;
  readonly now: number;
  readonly disks: readonly DiskRecord[];
  /** Every point the catalog holds, purged ones included (their jobs still count). */
  readonly points: readonly RecoveryPointRecord[];
  readonly jobs: readonly JobRecord[];
  /** Approval requests still waiting for a second person (pending and not expired). */
  readonly pendingApprovals: readonly ApprovalRecord[];
  /** Each disk's status against its policy's RPO, by disk name. */
  readonly rpo: ReadonlyMap<string, RpoStatus>;
  /** Bytes garbage collection freed, over every collection the audit log records. */
  readonly gcBytesReclaimed: number;
}

/**
 * Reads the facts from the catalog as the vault's principal (reader role): one listing of each
 * kind of record, so a scrape or a report costs a few catalog queries, not one per item.
 */
export async function gatherFacts(vault: Vault): Promise<VaultFacts> {
  vault.authorize(Operation.Read);
  const { catalog, clock } = vault.ctx.deps;
  const now = clock.now();
  const [disks, points, jobs, approvals, collections] = await Promise.all([
    catalog.listDisks(vault.id),
    catalog.listRecoveryPoints(vault.id),
    catalog.listJobs(vault.id),
    catalog.listApprovals(vault.id, { state: ApprovalState.Pending }),
    catalog.listAudit(vault.id, { action: "vault.gc" }),
  ]);
  const latest = latestGoodPoints(points);
  const rpo = new Map<string, RpoStatus>();
  for (const disk of disks) rpo.set(disk.name, await rpoStatus(vault.ctx, disk, latest.get(disk.name), now));
  const gcBytesReclaimed = collections.reduce((sum, e) => sum + (Number(e.detail?.bytesFreed) || 0), 0);
  return {
    vaultId: vault.id,
    vaultName: vault.name,
    now,
    disks,
    points,
    jobs,
    pendingApprovals: approvals.filter((a) => a.expires > now),
    rpo,
    gcBytesReclaimed,
  };
}

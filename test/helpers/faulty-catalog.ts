import type {
  ApprovalRecord,
  ApprovalState,
  AuditEntry,
  DiskRecord,
  JobRecord,
  PolicyRecord,
  RecoveryPointRecord,
  VaultRecord,
  VaultSettings,
} from "../../lib/model.ts";
import type {
  ApprovalQuery,
  AuditQuery,
  Catalog,
  JobExpectation,
  JobQuery,
} from "../../lib/ports/catalog.ts";
import type { FaultPlan } from "./fault-plan.ts";

/** A {@link Catalog} decorator that counts calls and fails the ones its plan picks. */
export class FaultyCatalog implements Catalog {
  private readonly inner: Catalog;
  private readonly plan: FaultPlan;

  constructor(inner: Catalog, plan: FaultPlan) {
    this.inner = inner;
    this.plan = plan;
  }

  private run<T>(method: string, call: () => Promise<T>): Promise<T> {
    return this.plan.run("catalog", method, undefined, call);
  }

  createVault(vault: VaultRecord): Promise<void> {
    return this.run("createVault", () => this.inner.createVault(vault));
  }
  getVault(id: string): Promise<VaultRecord> {
    return this.run("getVault", () => this.inner.getVault(id));
  }
  putDisk(disk: DiskRecord): Promise<void> {
    return this.run("putDisk", () => this.inner.putDisk(disk));
  }
  getDisk(vaultId: string, name: string): Promise<DiskRecord> {
    return this.run("getDisk", () => this.inner.getDisk(vaultId, name));
  }
  listDisks(vaultId: string): Promise<DiskRecord[]> {
    return this.run("listDisks", () => this.inner.listDisks(vaultId));
  }
  commitRecoveryPoint(point: RecoveryPointRecord, expectedParent: string | null): Promise<void> {
    return this.run("commitRecoveryPoint", () => this.inner.commitRecoveryPoint(point, expectedParent));
  }
  getRecoveryPoint(vaultId: string, id: string): Promise<RecoveryPointRecord> {
    return this.run("getRecoveryPoint", () => this.inner.getRecoveryPoint(vaultId, id));
  }
  listRecoveryPoints(vaultId: string, disk?: string): Promise<RecoveryPointRecord[]> {
    return this.run("listRecoveryPoints", () => this.inner.listRecoveryPoints(vaultId, disk));
  }
  latestRecoveryPoint(vaultId: string, disk: string): Promise<RecoveryPointRecord | undefined> {
    return this.run("latestRecoveryPoint", () => this.inner.latestRecoveryPoint(vaultId, disk));
  }
  updateRecoveryPoint(
    vaultId: string,
    id: string,
    changes: Partial<Pick<RecoveryPointRecord, "tier" | "state" | "deleteAfter">>,
  ): Promise<RecoveryPointRecord> {
    return this.run("updateRecoveryPoint", () => this.inner.updateRecoveryPoint(vaultId, id, changes));
  }
  createJob(job: JobRecord): Promise<void> {
    return this.run("createJob", () => this.inner.createJob(job));
  }
  getJob(vaultId: string, id: string): Promise<JobRecord> {
    return this.run("getJob", () => this.inner.getJob(vaultId, id));
  }
  updateJob(
    vaultId: string,
    id: string,
    changes: Partial<Omit<JobRecord, "id" | "vaultId">>,
    expected?: JobExpectation,
  ): Promise<JobRecord> {
    return this.run("updateJob", () => this.inner.updateJob(vaultId, id, changes, expected));
  }
  listJobs(vaultId: string, query?: JobQuery): Promise<JobRecord[]> {
    return this.run("listJobs", () => this.inner.listJobs(vaultId, query));
  }
  putPolicy(policy: PolicyRecord, expectedVersion: number | null): Promise<void> {
    return this.run("putPolicy", () => this.inner.putPolicy(policy, expectedVersion));
  }

  deletePolicy(vaultId: string, name: string, expectedVersion: number): Promise<void> {
    return this.run("deletePolicy", () => this.inner.deletePolicy(vaultId, name, expectedVersion));
  }
  getPolicy(vaultId: string, name: string): Promise<PolicyRecord> {
    return this.run("getPolicy", () => this.inner.getPolicy(vaultId, name));
  }
  listPolicies(vaultId: string): Promise<PolicyRecord[]> {
    return this.run("listPolicies", () => this.inner.listPolicies(vaultId));
  }
  getSettings(vaultId: string): Promise<VaultSettings> {
    return this.run("getSettings", () => this.inner.getSettings(vaultId));
  }
  putSettings(settings: VaultSettings, expectedVersion: number): Promise<void> {
    return this.run("putSettings", () => this.inner.putSettings(settings, expectedVersion));
  }
  createApproval(approval: ApprovalRecord): Promise<void> {
    return this.run("createApproval", () => this.inner.createApproval(approval));
  }
  getApproval(vaultId: string, id: string): Promise<ApprovalRecord> {
    return this.run("getApproval", () => this.inner.getApproval(vaultId, id));
  }
  listApprovals(vaultId: string, query?: ApprovalQuery): Promise<ApprovalRecord[]> {
    return this.run("listApprovals", () => this.inner.listApprovals(vaultId, query));
  }
  updateApproval(
    vaultId: string,
    id: string,
    changes: Partial<Pick<ApprovalRecord, "state" | "approver" | "approved" | "used">>,
    expectedState: ApprovalState,
  ): Promise<ApprovalRecord> {
    return this.run("updateApproval", () => this.inner.updateApproval(vaultId, id, changes, expectedState));
  }
  appendAudit(entry: Omit<AuditEntry, "seq">): Promise<AuditEntry> {
    return this.run("appendAudit", () => this.inner.appendAudit(entry));
  }
  listAudit(vaultId: string, query?: AuditQuery): Promise<AuditEntry[]> {
    return this.run("listAudit", () => this.inner.listAudit(vaultId, query));
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

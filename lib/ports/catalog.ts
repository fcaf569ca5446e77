import type { ApprovalCatalog } from "./catalog/approvals.ts";
import type { AuditLog } from "./catalog/audit.ts";
import type { DiskCatalog } from "./catalog/disks.ts";
import type { JobCatalog } from "./catalog/jobs.ts";
import type { PointCatalog } from "./catalog/points.ts";
import type { PolicyCatalog } from "./catalog/policies.ts";
import type { SettingsCatalog } from "./catalog/settings.ts";
import type { VaultCatalog } from "./catalog/vaults.ts";
import type { VmCatalog } from "./catalog/vms.ts";

export type { ApprovalCatalog, ApprovalChanges, ApprovalQuery } from "./catalog/approvals.ts";
export type { AuditLog, AuditQuery } from "./catalog/audit.ts";
export type { DiskCatalog } from "./catalog/disks.ts";
export {
  checkJobExpectation,
  type JobCatalog,
  type JobChanges,
  type JobExpectation,
  type JobQuery,
} from "./catalog/jobs.ts";
export type { PointCatalog, RecoveryPointChanges } from "./catalog/points.ts";
export type { PolicyCatalog } from "./catalog/policies.ts";
export type { SettingsCatalog } from "./catalog/settings.ts";
export type { VaultCatalog } from "./catalog/vaults.ts";
export type { VmCatalog, VmDiskCommit, VmPointChanges } from "./catalog/vms.ts";

/**
 * The catalog: the queryable record of vaults, disks, recovery points, jobs, policies, settings,
 * approval requests, each vault's audit log, and protected VMs with their VM points. The object store holds the data; the catalog
 * says which of it is committed. It is the composition of one port per aggregate (each with its
 * own contract, in `lib/ports/catalog/`); a caller that needs one aggregate takes that port.
 *
 * Contract shared by every aggregate (checked by the suites in `test/contract/catalog*.ts`):
 * - Ids of disks, recovery points, jobs, policies and approvals are scoped to their vault: the
 *   same id may exist in two vaults, and every lookup names the vault.
 * - `get*` of a missing id rejects with `NotFoundError`; creates are conditional
 *   (`AlreadyExistsError`) unless their port says otherwise.
 * - "Newest" means greatest `created` (for jobs, `started`); records with equal timestamps order
 *   by commit order, later first.
 * - Optional fields round-trip: a field absent when written is absent (not null) when read.
 * - `close` releases the catalog's connections; it is idempotent, and later calls fail.
 */
export interface Catalog
  extends VaultCatalog,
    DiskCatalog,
    PointCatalog,
    JobCatalog,
    PolicyCatalog,
    SettingsCatalog,
    ApprovalCatalog,
    AuditLog,
    VmCatalog {
  close(): Promise<void>;
}

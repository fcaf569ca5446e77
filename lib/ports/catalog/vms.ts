import type { PointState, RecoveryPointRecord, VmPointRecord, VmRecord } from "../../model.ts";

/** One disk's point of a VM point, with the parent its commit is conditional on. */
export interface VmDiskCommit {
  readonly point: RecoveryPointRecord;
  /** The disk's latest available point the backup diffed against (null: none). */
  readonly expectedParent: string | null;
}

/** The fields of a VM point that may change: its lifecycle, as its disks' points change. */
export type VmPointChanges = Partial<{ state: PointState; deleteAfter: number | undefined }>;

/**
 * The protected VMs of each vault and their VM recovery points.
 *
 * Contract (test/contract/catalog-vms.contract.ts):
 * - `putVm` creates or replaces the VM (not conditional); `getVm` of a missing name rejects with
 *   `NotFoundError`; `listVms` returns a vault's VMs by name.
 * - `commitVmPoint(vmPoint, disks)` is atomic: it inserts the VM point and every disk's point,
 *   and sets each registered disk's size, only if no id exists yet (`AlreadyExistsError`, checked
 *   first, so a retried commit that landed says so) and every disk's latest available point is
 *   its `expectedParent` (else `ConflictError`); otherwise it writes nothing. `vmPoint.points` must
 *   be the disks' point ids in order, and every point must name the VM point's vault
 *   (`ValidationError`).
 * - `getVmPoint` of a missing id rejects with `NotFoundError`; `listVmPoints` returns the VM
 *   points of one VM (or all) newest first (greatest `created`, then commit order).
 * - `vmPointOf(vaultId, pointId)` is the VM point a disk's point belongs to, or undefined.
 * - `updateVmPoint` sets the VM point's `state` and `deleteAfter` (merged like object spread:
 *   `undefined` clears `deleteAfter`) and returns the result; `NotFoundError` when missing.
 */
export interface VmCatalog {
  putVm(vm: VmRecord): Promise<void>;
  getVm(vaultId: string, name: string): Promise<VmRecord>;
  listVms(vaultId: string): Promise<VmRecord[]>;
  commitVmPoint(vmPoint: VmPointRecord, disks: readonly VmDiskCommit[]): Promise<void>;
  getVmPoint(vaultId: string, id: string): Promise<VmPointRecord>;
  listVmPoints(vaultId: string, vm?: string): Promise<VmPointRecord[]>;
  vmPointOf(vaultId: string, pointId: string): Promise<string | undefined>;
  updateVmPoint(vaultId: string, id: string, changes: VmPointChanges): Promise<VmPointRecord>;
}

import type { RecoveryPointRecord } from "../../model.ts";

/** The fields of a committed recovery point that may change: its lifecycle, never its data. */
export type RecoveryPointChanges = Partial<
  Pick<RecoveryPointRecord, "tier" | "state" | "deleteAfter" | "retainUntil">
>;

/**
 * The recovery points of each vault.
 *
 * Contract (test/contract/catalog-points.contract.ts):
 * - `commitRecoveryPoint` is the commit of a backup and is atomic: it inserts the point and
 *   updates the disk's size (when the disk is registered; the point is committed either way) only
 *   if the disk's latest available point is still `expectedParent` (null: the disk has no
 *   available point); otherwise it rejects with `ConflictError` and writes nothing. The id check
 *   comes first, so a retried commit that already landed reports `AlreadyExistsError`.
 * - `getRecoveryPoint` of a missing id rejects with `NotFoundError`.
 * - `listRecoveryPoints` returns points of one disk (or all) newest first (greatest `created`,
 *   equal times by commit order, later first), whatever their state; `latestRecoveryPoint` is the
 *   newest `available` point of a disk, or undefined.
 * - `updateRecoveryPoint` replaces the named fields of an existing point and returns the result,
 *   rejecting with `NotFoundError` when there is none. It merges like object spread: an optional
 *   field given as `undefined` is cleared; a required one given as `undefined` is a
 *   `ValidationError`. Setting absolute values, it is safe to repeat.
 */
export interface PointCatalog {
  commitRecoveryPoint(point: RecoveryPointRecord, expectedParent: string | null): Promise<void>;
  getRecoveryPoint(vaultId: string, id: string): Promise<RecoveryPointRecord>;
  listRecoveryPoints(vaultId: string, disk?: string): Promise<RecoveryPointRecord[]>;
  latestRecoveryPoint(vaultId: string, disk: string): Promise<RecoveryPointRecord | undefined>;
  updateRecoveryPoint(
    vaultId: string,
    id: string,
    changes: RecoveryPointChanges,
  ): Promise<RecoveryPointRecord>;
}

import type { DiskRecord } from "../../model.ts";

/**
 * The protected items (disks) of each vault.
 *
 * Contract (test/contract/catalog.contract.ts, "disks"):
 * - `putDisk` creates or replaces (it is not conditional), so repeating it is harmless.
 * - `getDisk` of a missing name rejects with `NotFoundError`.
 * - `listDisks` returns a vault's disks in no particular order.
 */
export interface DiskCatalog {
  putDisk(disk: DiskRecord): Promise<void>;
  getDisk(vaultId: string, name: string): Promise<DiskRecord>;
  listDisks(vaultId: string): Promise<DiskRecord[]>;
}

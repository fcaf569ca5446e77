import type { VaultRecord } from "../../model.ts";

/**
 * The catalog's vault records.
 *
 * Contract (test/contract/catalog.contract.ts, "vaults"):
 * - `createVault` is conditional: an existing id rejects with `AlreadyExistsError` and changes
 *   nothing. Vaults never change once created.
 * - `getVault` of a missing id rejects with `NotFoundError`.
 */
export interface VaultCatalog {
  createVault(vault: VaultRecord): Promise<void>;
  getVault(id: string): Promise<VaultRecord>;
}

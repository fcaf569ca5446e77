import type { VaultSettings } from "../../model.ts";

/**
 * Each vault's settings (soft delete, lock, key), one versioned record.
 *
 * Contract (test/contract/catalog-rules.contract.ts):
 * - `getSettings` returns the stored settings, or `defaultSettings(vaultId)` (version 0) when none
 *   were ever written.
 * - `putSettings(settings, expectedVersion)` writes only if the stored version (0 when none)
 *   equals `expectedVersion`, else `ConflictError`; the caller passes
 *   `version: expectedVersion + 1`.
 */
export interface SettingsCatalog {
  getSettings(vaultId: string): Promise<VaultSettings>;
  putSettings(settings: VaultSettings, expectedVersion: number): Promise<void>;
}

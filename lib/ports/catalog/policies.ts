import type { PolicyRecord } from "../../model.ts";

/**
 * The backup policies of each vault, versioned so that concurrent editors cannot overwrite each
 * other.
 *
 * Contract (test/contract/catalog-rules.contract.ts):
 * - `putPolicy(policy, expectedVersion)` is conditional: with `null` the policy must not exist
 *   (else `AlreadyExistsError`); with a number, the stored version must equal it (else
 *   `ConflictError`; `NotFoundError` when there is none). The caller passes the new record with
 *   `version` already incremented.
 * - `deletePolicy(vaultId, name, expectedVersion)` removes the policy only if its stored version
 *   equals `expectedVersion` (else `ConflictError`); `NotFoundError` when there is none.
 * - `getPolicy` of a missing name rejects with `NotFoundError`; `listPolicies` returns a vault's
 *   policies by name.
 */
export interface PolicyCatalog {
  putPolicy(policy: PolicyRecord, expectedVersion: number | null): Promise<void>;
  getPolicy(vaultId: string, name: string): Promise<PolicyRecord>;
  listPolicies(vaultId: string): Promise<PolicyRecord[]>;
  deletePolicy(vaultId: string, name: string, expectedVersion: number): Promise<void>;
}

import type { ApprovalRecord, ApprovalState } from "../../model.ts";

/** Which approval requests to list. */
export interface ApprovalQuery {
  readonly state?: ApprovalState;
}

/** The fields of a request its approver (or its use) may change. */
export type ApprovalChanges = Partial<Pick<ApprovalRecord, "state" | "approver" | "approved" | "used">>;

/**
 * The requests for a second person's approval of critical operations.
 *
 * Contract (test/contract/catalog-approvals.contract.ts):
 * - `createApproval` is conditional on the id (`AlreadyExistsError`).
 * - `updateApproval(vaultId, id, changes, expectedState)` changes `state`, `approver`,
 *   `approved` and `used` only if the stored state equals `expectedState`, else `ConflictError`;
 *   `NotFoundError` when missing.
 * - `getApproval` of a missing id rejects with `NotFoundError`; `listApprovals` returns a vault's
 *   requests newest first (`created`, then commit order).
 */
export interface ApprovalCatalog {
  createApproval(approval: ApprovalRecord): Promise<void>;
  getApproval(vaultId: string, id: string): Promise<ApprovalRecord>;
  listApprovals(vaultId: string, query?: ApprovalQuery): Promise<ApprovalRecord[]>;
  updateApproval(
    vaultId: string,
    id: string,
    changes: ApprovalChanges,
    expectedState: ApprovalState,
  ): Promise<ApprovalRecord>;
}

import { type ApprovalRecord, ApprovalState } from "../model.ts";

/**
 * Whether a request was closed by a rejection. A rejected request is stored as used without ever
 * having been approved (`used` set, `approved` not), its `approver` naming who rejected it: the
 * stored states stay the three every catalog already checks, and a rejected request, like a used
 * one, can never be approved or used again.
 */
export function isRejected(approval: ApprovalRecord): boolean {
  return approval.state === ApprovalState.Used && approval.approved === undefined;
}

/** The states a request is shown in: the stored ones, and `rejected` (see `isRejected`). */
export const ApprovalStatus = { ...ApprovalState, Rejected: "rejected" } as const;
export type ApprovalStatus = (typeof ApprovalStatus)[keyof typeof ApprovalStatus];

/** A request as the API and the CLI show it: what it is for, who asked, and how it was decided. */
export interface ApprovalView {
  readonly id: string;
  readonly operation: string;
  readonly target?: string;
  readonly requester: string;
  readonly created: number;
  readonly expires: number;
  readonly state: ApprovalStatus;
  readonly approver?: string;
  readonly approved?: number;
  readonly used?: number;
  /** Who rejected it, and when (state `rejected` only). */
  readonly rejecter?: string;
  readonly rejected?: number;
}

/** The view of a stored request; the digest of its parameters and its vault stay inside. */
export function approvalView(a: ApprovalRecord): ApprovalView {
  const common = {
    id: a.id,
    operation: a.operation,
    ...(a.target !== undefined ? { target: a.target } : {}),
    requester: a.requester,
    created: a.created,
    expires: a.expires,
  };
  if (isRejected(a)) {
    return {
      ...common,
      state: ApprovalStatus.Rejected,
      ...(a.approver !== undefined ? { rejecter: a.approver } : {}),
      ...(a.used !== undefined ? { rejected: a.used } : {}),
    };
  }
  return {
    ...common,
    state: a.state,
    ...(a.approver !== undefined ? { approver: a.approver } : {}),
    ...(a.approved !== undefined ? { approved: a.approved } : {}),
    ...(a.used !== undefined ? { used: a.used } : {}),
  };
}

/** The views of `records` in state `status` (every state when undefined), in the given order. */
export function approvalViews(records: readonly ApprovalRecord[], status?: ApprovalStatus): ApprovalView[] {
  const views = records.map(approvalView);
  return status === undefined ? views : views.filter((v) => v.state === status);
}

/** The stored state to ask the catalog for, to list requests shown in `status`. */
export function storedStateOf(status: ApprovalStatus): ApprovalState {
  return status === ApprovalStatus.Rejected ? ApprovalState.Used : status;
}

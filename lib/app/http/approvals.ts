import { type ApprovalStatus, approvalView } from "../../rules/approval-view.ts";
import { type Call, param } from "./call.ts";
import { type HttpResponse, json } from "./types.ts";

/** `GET /approvals?state=`: newest first, rejected ones told apart from used ones. */
export async function listApprovals(call: Call): Promise<HttpResponse> {
  const state = call.query.state as ApprovalStatus | undefined;
  return json(200, { items: await call.vault.approvalViews(state) });
}

/** `POST /approvals/{id}/approve`: the rules of `blockvault approvals approve`, as the caller. */
export async function approveRequest(call: Call): Promise<HttpResponse> {
  return json(200, approvalView(await call.vault.approve(param(call, "id"))));
}

/** `POST /approvals/{id}/reject`: closes another principal's pending request for good. */
export async function rejectRequest(call: Call): Promise<HttpResponse> {
  return json(200, approvalView(await call.vault.reject(param(call, "id"))));
}

import { createHash, randomUUID } from "node:crypto";
import type { VaultContext } from "../engine/store/vault-config.ts";
import {
  AccessDeniedError,
  ApprovalMismatchError,
  ApprovalRequiredError,
  ConflictError,
  NotFoundError,
} from "../errors.ts";
import { type ApprovalRecord, ApprovalState } from "../model.ts";
import { isRejected } from "./approval-view.ts";
import { assertIndependentApprover } from "./lineage.ts";
import { authorize, Operation, OWNER, type Principal } from "./roles.ts";

/** How long a request may wait for its approval, and then for its one use. */
export const APPROVAL_WINDOW_MS = 24 * 60 * 60 * 1000;

/** The critical operations that need a second person's approval. */
export const CriticalOperation = {
  DeleteEarly: "point.delete-early",
  DisableSoftDelete: "soft-delete.disable",
  ShortenRetention: "policy.shorten-retention",
  DisableLock: "lock.disable",
  StopProtectionAndDelete: "disk.stop-protection-delete",
  RotateKey: "vault.rotate-key",
  ShortenSoftDelete: "soft-delete.shorten",
  ChangeDiskPolicy: "disk.change-policy",
  AddPrincipal: "principal.add",
  RemovePrincipal: "principal.remove",
  SetPrincipalRoles: "principal.set-roles",
} as const;
export type CriticalOperation = (typeof CriticalOperation)[keyof typeof CriticalOperation];

/** A stable digest of an operation's parameters, so an approval covers that exact change. */
export function paramsDigest(params: unknown): string {
  return createHash("sha256").update(JSON.stringify(params)).digest("hex");
}

/** Who performs an operation, and the approved request they present for a critical one. */
export interface Actor {
  readonly principal: Principal;
  readonly approvalId?: string;
}

/** The vault itself, acting for its owner (the scheduler, single-user vaults). */
export const OWNER_ACTOR: Actor = { principal: OWNER };

/** What a critical operation is, for the approval check. */
export interface CriticalRequest {
  readonly operation: CriticalOperation;
  readonly target?: string;
  readonly params: unknown;
  /** The approved request the caller presents, if any. */
  readonly approvalId?: string;
}

/**
 * The approval an early delete of point `id` (a disk's or a VM's, whose retention or lock still
 * holds it) needs: {@link requireApproval} for `DeleteEarly` on that id.
 */
export async function requireEarlyDeleteApproval(ctx: VaultContext, actor: Actor, id: string): Promise<void> {
  await requireApproval(ctx, actor.principal, {
    operation: CriticalOperation.DeleteEarly,
    target: id,
    params: { id },
    ...(actor.approvalId ? { approvalId: actor.approvalId } : {}),
  });
}

/**
 * Lets a critical operation proceed only with an approved request. Without one, a pending request
 * is recorded and ApprovalRequiredError names it; a different security admin approves it; the
 * requester then repeats the operation with the request's id, within the window, once. A
 * single-user vault (its owner is the only principal) has nobody to approve, so nothing is asked.
 */
export async function requireApproval(
  ctx: VaultContext,
  principal: Principal,
  request: CriticalRequest,
): Promise<void> {
  if (principal === OWNER) return;
  const { catalog, clock } = ctx.deps;
  const vaultId = ctx.config.vaultId;
  const now = clock.now();
  const digest = paramsDigest(request.params);
  if (request.approvalId === undefined) {
    const record: ApprovalRecord = {
      vaultId,
      id: randomUUID(),
      operation: request.operation,
      ...(request.target !== undefined ? { target: request.target } : {}),
      paramsDigest: digest,
      requester: principal.name,
      created: now,
      expires: now + APPROVAL_WINDOW_MS,
      state: ApprovalState.Pending,
    };
    await catalog.createApproval(record);
    throw new ApprovalRequiredError(
      `${request.operation}${request.target ? ` of ${request.target}` : ""} needs a second person's approval: request ${record.id} was created; once another security admin has approved it ("approvals approve ${record.id}"), repeat the command with --approval ${record.id} before ${new Date(record.expires).toISOString()}`,
      record.id,
    );
  }
  const approval = await getApproval(ctx, request.approvalId);
  const matches =
    approval.operation === request.operation &&
    approval.target === request.target &&
    approval.paramsDigest === digest;
  if (!matches)
    throw new ApprovalMismatchError(`approval ${approval.id} is for another operation or other parameters`);
  if (approval.requester !== principal.name) {
    throw new AccessDeniedError(
      `approval ${approval.id} was requested by ${approval.requester}, not ${principal.name}`,
    );
  }
  if (approval.expires <= now) throw new ConflictError(`approval ${approval.id} has expired`);
  if (isRejected(approval)) {
    throw new ConflictError(
      `approval ${approval.id} was rejected by ${approval.approver ?? "a security admin"}`,
    );
  }
  if (approval.state !== ApprovalState.Approved) {
    throw new ConflictError(`approval ${approval.id} is ${approval.state}, not approved`);
  }
  // The principals may have changed since the approval: it counts only if it still would.
  await assertIndependentApprover(ctx, approval, approval.approver ?? "");
  await catalog.updateApproval(
    vaultId,
    approval.id,
    { state: ApprovalState.Used, used: now },
    ApprovalState.Approved,
  );
}

/** The pending request `id`, if `principal` may decide it: a security admin, not its requester. */
async function decidable(
  ctx: VaultContext,
  principal: Principal,
  id: string,
  verb: "approve" | "reject",
): Promise<ApprovalRecord> {
  authorize(principal, Operation.Approve);
  const approval = await getApproval(ctx, id);
  if (approval.requester === principal.name) {
    throw new AccessDeniedError(
      `${principal.name} requested ${id} and cannot ${verb} it: another security admin must`,
    );
  }
  if (approval.expires <= ctx.deps.clock.now()) throw new ConflictError(`approval request ${id} has expired`);
  if (approval.state !== ApprovalState.Pending) {
    const state = isRejected(approval) ? "rejected" : approval.state;
    throw new ConflictError(`approval request ${id} is already ${state}`);
  }
  return approval;
}

/** Approves a pending request: a security admin other than its requester, within its window. */
export async function approve(ctx: VaultContext, principal: Principal, id: string): Promise<ApprovalRecord> {
  const approval = await decidable(ctx, principal, id, "approve");
  await assertIndependentApprover(ctx, approval, principal.name);
  return ctx.deps.catalog.updateApproval(
    ctx.config.vaultId,
    id,
    { state: ApprovalState.Approved, approver: principal.name, approved: ctx.deps.clock.now() },
    ApprovalState.Pending,
  );
}

/**
 * Rejects a pending request: a security admin other than its requester, within its window. The
 * request is closed for good (see {@link isRejected}); the requester may ask again, which makes
 * a new request. A rejection only ever stops an operation, so it needs no independence check:
 * any other security admin may say no.
 */
export async function reject(ctx: VaultContext, principal: Principal, id: string): Promise<ApprovalRecord> {
  await decidable(ctx, principal, id, "reject");
  return ctx.deps.catalog.updateApproval(
    ctx.config.vaultId,
    id,
    { state: ApprovalState.Used, approver: principal.name, used: ctx.deps.clock.now() },
    ApprovalState.Pending,
  );
}

async function getApproval(ctx: VaultContext, id: string): Promise<ApprovalRecord> {
  try {
    return await ctx.deps.catalog.getApproval(ctx.config.vaultId, id);
  } catch (err) {
    if (err instanceof NotFoundError)
      throw new NotFoundError(`approval request ${id} does not exist`, { cause: err });
    throw err;
  }
}

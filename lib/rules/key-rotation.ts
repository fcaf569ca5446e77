import type { VaultContext } from "../engine/store/vault-config.ts";
import { ValidationError } from "../errors.ts";
import type { KeyRotation } from "../ports/key-service.ts";
import { type Actor, CriticalOperation, OWNER_ACTOR, requireApproval } from "./approvals.ts";

/**
 * Changes the vault key: the key service makes new master key material current, so every data
 * key generated from now on is wrapped under it, while older material stays to unwrap what it
 * wrapped (nothing stored is rewritten). A critical operation: without an approved request a
 * pending one is created and `ApprovalRequiredError` names it. A key service that cannot rotate
 * is refused first, so no request is left waiting for something that can never happen.
 */
export async function rotateVaultKey(ctx: VaultContext, actor: Actor = OWNER_ACTOR): Promise<KeyRotation> {
  const keys = ctx.deps.keys;
  if (typeof keys.rotate !== "function") {
    throw new ValidationError(
      `the key service of vault ${ctx.config.name} cannot rotate its key; rotate the master key with the key provider's own tools`,
    );
  }
  await requireApproval(ctx, actor.principal, {
    operation: CriticalOperation.RotateKey,
    target: ctx.config.vaultId,
    // Why: the approval must cover this vault's rotation only, and the digest needs parameters.
    params: { vault: ctx.config.vaultId },
    ...(actor.approvalId ? { approvalId: actor.approvalId } : {}),
  });
  return keys.rotate();
}

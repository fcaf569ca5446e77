import type { VaultContext } from "../engine/store/vault-config.ts";
import { AccessDeniedError, ConflictError, NotFoundError, ValidationError } from "../errors.ts";
import { type DiskRecord, LockState, type PolicyRecord } from "../model.ts";
import type { BackupPolicy } from "../policy/policy.ts";
import { validatePolicy } from "../policy/validate.ts";
import { type Actor, CriticalOperation, OWNER_ACTOR, requireApproval } from "./approvals.ts";
import { commitRetention, shortenedPoints } from "./point-retention.ts";
import { shortenedRules } from "./retention-end.ts";

/** A stored policy with its definition typed. */
export interface StoredPolicy extends PolicyRecord {
  readonly definition: BackupPolicy & Readonly<Record<string, unknown>>;
}

function typed(record: PolicyRecord): StoredPolicy {
  return record as StoredPolicy;
}

/**
 * Deletes a policy no protected disk uses; one that protects disks is refused (move or
 * unprotect them first), so no disk is left pointing at a policy that is gone.
 */
export async function deletePolicy(ctx: VaultContext, name: string): Promise<void> {
  const current = await getPolicy(ctx, name);
  const users = (await ctx.deps.catalog.listDisks(ctx.config.vaultId)).filter((d) => d.policy === name);
  if (users.length > 0) {
    throw new ConflictError(
      `policy "${name}" protects ${users.map((d) => `"${d.name}"`).join(", ")}; unprotect those disks or give them another policy first`,
    );
  }
  await ctx.deps.catalog.deletePolicy(ctx.config.vaultId, name, current.version);
}

/** Creates a policy from untrusted input; the name inside the input names it. */
export async function createPolicy(ctx: VaultContext, input: unknown): Promise<StoredPolicy> {
  const definition = validatePolicy(input);
  const now = ctx.deps.clock.now();
  const record: PolicyRecord = {
    vaultId: ctx.config.vaultId,
    name: definition.name,
    version: 1,
    created: now,
    updated: now,
    definition: definition as unknown as Record<string, unknown>,
  };
  await ctx.deps.catalog.putPolicy(record, null);
  return typed(record);
}

/**
 * Replaces a policy's definition (its name cannot change). The change applies to existing
 * points at the next evaluation (run-due). The write is conditional on the version read, so
 * two concurrent updates cannot silently overwrite each other.
 */
export async function updatePolicy(
  ctx: VaultContext,
  name: string,
  input: unknown,
  actor: Actor = OWNER_ACTOR,
): Promise<StoredPolicy> {
  const current = await getPolicy(ctx, name);
  const definition = validatePolicy(input);
  if (definition.name !== name) {
    throw new ValidationError(
      `name must stay "${name}" (a policy cannot be renamed), got "${definition.name}"`,
    );
  }
  const shortened = await shortenedBy(ctx, current, definition);
  if (shortened.length > 0) {
    const settings = await ctx.deps.catalog.getSettings(ctx.config.vaultId);
    if (settings.lock !== LockState.Unlocked) {
      throw new AccessDeniedError(
        `the vault lock (${settings.lock}) forbids shortening retention: ${shortened.join(", ")}`,
      );
    }
    await requireApproval(ctx, actor.principal, {
      operation: CriticalOperation.ShortenRetention,
      target: name,
      params: definition,
      ...(actor.approvalId ? { approvalId: actor.approvalId } : {}),
    });
  }
  const record: PolicyRecord = {
    ...current,
    version: current.version + 1,
    updated: ctx.deps.clock.now(),
    definition: definition as unknown as Record<string, unknown>,
  };
  await ctx.deps.catalog.putPolicy(record, current.version);
  // An approved shortening lowers the committed ends to the new policy's; otherwise they only rise.
  for (const disk of await disksUsing(ctx, name)) {
    await commitRetention(ctx, disk.name, definition, { reset: shortened.length > 0 });
  }
  return typed(record);
}

async function disksUsing(ctx: VaultContext, policy: string): Promise<DiskRecord[]> {
  return (await ctx.deps.catalog.listDisks(ctx.config.vaultId)).filter((d) => d.policy === policy);
}

/**
 * What `next` shortens compared with `current`: the rules it keeps for less long, a shorter
 * snapshot tier, and any existing point of a disk under the policy that it would delete sooner
 * (a changed time zone moves day boundaries too).
 */
async function shortenedBy(ctx: VaultContext, current: StoredPolicy, next: BackupPolicy): Promise<string[]> {
  const out = shortenedRules(current.definition.retention, next.retention);
  if (next.snapshotRetentionDays < current.definition.snapshotRetentionDays)
    out.push("snapshotRetentionDays");
  for (const disk of await disksUsing(ctx, current.name)) {
    const points = await shortenedPoints(ctx, disk.name, current.definition, next);
    if (points.length > 0) out.push(`${points.length} recovery point(s) of disk "${disk.name}"`);
  }
  return out;
}

/** A policy by name, with a clear error when there is none. */
export async function getPolicy(ctx: VaultContext, name: string): Promise<StoredPolicy> {
  try {
    return typed(await ctx.deps.catalog.getPolicy(ctx.config.vaultId, name));
  } catch (err) {
    if (err instanceof NotFoundError)
      throw new NotFoundError(`policy "${name}" does not exist`, { cause: err });
    throw err;
  }
}

/**
 * The disk's policy, or undefined for a disk without one — also when the policy was deleted in
 * the moment the disk was given it: such a disk is treated as unprotected (its points are kept).
 */
export async function policyOf(ctx: VaultContext, disk: DiskRecord): Promise<BackupPolicy | undefined> {
  if (!disk.policy) return undefined;
  try {
    return (await getPolicy(ctx, disk.policy)).definition;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** All policies of the vault, by name. */
export async function listPolicies(ctx: VaultContext): Promise<StoredPolicy[]> {
  return (await ctx.deps.catalog.listPolicies(ctx.config.vaultId)).map(typed);
}

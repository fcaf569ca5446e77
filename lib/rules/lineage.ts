import type { VaultContext } from "../engine/store/vault-config.ts";
import { AccessDeniedError } from "../errors.ts";
import type { PrincipalRecord } from "../ports/principals.ts";
import { Role } from "./roles.ts";

/** What the independence check needs of an approval request. */
export interface RequestFacts {
  readonly id: string;
  readonly requester: string;
  /** When the request was made. */
  readonly created: number;
}

/** A principal and everyone in its lineage: who made it, or gave it its roles, transitively. */
export function lineageOf(p: PrincipalRecord): Set<string> {
  return new Set([p.name, ...p.lineage]);
}

/**
 * Throws AccessDeniedError unless `approverName` may approve `request`, judged on the vault's
 * principals: the approver is a security admin that had that role before the request was made,
 * the requester is still the principal who made it (not a re-added name), and their lineages
 * do not meet — a principal made by the requester (or by someone the requester made) is the
 * requester's, and the requester's own creator is no second person either. Checked when the
 * request is approved and again when it is used. A vault without principals (single-user, or
 * principals made up by the library's caller) has nothing to check.
 */
export async function assertIndependentApprover(
  ctx: VaultContext,
  request: RequestFacts,
  approverName: string,
): Promise<void> {
  const store = ctx.deps.principals;
  if (!store) return;
  const { principals } = await store.list();
  if (principals.length === 0) return;
  const byName = new Map(principals.map((p) => [p.name, p]));
  const approver = byName.get(approverName);
  const refuse = (why: string) => {
    throw new AccessDeniedError(`${approverName} may not approve request ${request.id}: ${why}`);
  };
  if (!approver) return refuse("it is not a principal of this vault");
  if (!approver.roles.includes(Role.SecurityAdmin)) return refuse("it is not a security admin");
  if (approver.rolesSince >= request.created) return refuse("it got its roles after the request was made");
  const requester = byName.get(request.requester);
  if (!requester || requester.created > request.created)
    return refuse(`${request.requester}, who made the request, is no longer a principal of this vault`);
  const theirs = lineageOf(requester);
  const shared = [...lineageOf(approver)].filter((name) => theirs.has(name));
  if (shared.length > 0)
    return refuse(
      `it and ${request.requester} share ${shared.join(", ")} in their lineage (one made or gave roles to the other)`,
    );
}

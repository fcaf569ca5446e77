import type { VaultContext } from "../engine/store/vault-config.ts";
import {
  AccessDeniedError,
  AlreadyExistsError,
  ConflictError,
  NotFoundError,
  ValidationError,
} from "../errors.ts";
import type { PrincipalRecord, PrincipalSet, PrincipalStore } from "../ports/principals.ts";
import { type Actor, CriticalOperation, requireApproval } from "./approvals.ts";
import { lineageOf } from "./lineage.ts";
import { checkName, checkRoles, described, isAdmin, newPrincipal, storeOf } from "./principal-checks.ts";
import { OWNER, Role } from "./roles.ts";

/** A principal to add: its name (an IAM ARN on AWS) and roles, as the caller gave them. */
export interface NewPrincipal {
  readonly name: string;
  readonly roles: readonly string[];
}

/** An added principal, and its API token where the vault's principals have tokens (shown once). */
export interface AddedPrincipal {
  readonly principal: PrincipalRecord;
  readonly token?: string;
}

/**
 * Adds a vault's first principals, all at once, for its owner (or the deployment's seed): only
 * while the vault has none, and only with a security admin among them, or nobody could ever
 * manage principals again. They owe their place to nobody inside the vault: their lineages are
 * empty, so any two of them may approve each other's requests.
 */
export async function bootstrapPrincipals(
  ctx: VaultContext,
  actor: Actor,
  input: readonly NewPrincipal[],
  by = OWNER.name,
): Promise<AddedPrincipal[]> {
  const store = storeOf(ctx);
  if (actor.principal !== OWNER)
    throw new AccessDeniedError(
      `only the vault's owner adds its first principals, not ${actor.principal.name}`,
    );
  if (input.length === 0) throw new ValidationError("name at least one principal to add");
  const now = ctx.deps.clock.now();
  const added = input.map(({ name, roles }) => {
    checkName(store, name);
    const record = {
      name,
      roles: checkRoles(roles),
      created: now,
      createdBy: by,
      rolesSince: now,
      lineage: [],
    };
    return newPrincipal(store, record);
  });
  if (!added.some((a) => isAdmin(a.stored)))
    throw new ValidationError(
      "the first principals must include a security-admin: only one can manage principals",
    );
  const set = await store.list();
  if (set.principals.length > 0) throw ownerRefused();
  await store.add(
    added.map((a) => a.stored),
    set.revision,
  );
  return added.map(({ stored: { tokenSha256: _, ...principal }, token }) => ({
    principal,
    ...(token ? { token } : {}),
  }));
}

function ownerRefused(): AccessDeniedError {
  return new AccessDeniedError(
    "this vault has principals: its owner no longer acts alone; a security admin adds, removes or changes principals, with another's approval",
  );
}

/**
 * Runs `attempt` on the current principal set, again on a fresh one when the set moved
 * meanwhile (the store refuses a change decided on an old revision), so that every rule is
 * checked against the set the change lands on.
 */
async function onCurrentSet<T>(
  store: PrincipalStore,
  attempt: (set: PrincipalSet) => Promise<T>,
): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt(await store.list());
    } catch (err) {
      if (!(err instanceof ConflictError && err.retryable && tries < 8)) throw err;
    }
  }
}

/** The calling principal's record; the owner and unknown callers are refused. */
function requesterIn(set: PrincipalSet, actor: Actor): PrincipalRecord {
  if (actor.principal === OWNER) throw ownerRefused();
  const found = set.principals.find((p) => p.name === actor.principal.name);
  if (!found) throw new AccessDeniedError(`${actor.principal.name} is not a principal of this vault`);
  return found;
}

function targetIn(set: PrincipalSet, name: string): PrincipalRecord {
  const found = set.principals.find((p) => p.name === name);
  if (!found) throw new NotFoundError(`principal "${name}" does not exist`);
  return found;
}

/** Who approved the request `actor` presented (it was checked and used just before). */
async function approverOf(ctx: VaultContext, actor: Actor): Promise<string | undefined> {
  if (actor.approvalId === undefined) return undefined;
  return (await ctx.deps.catalog.getApproval(ctx.config.vaultId, actor.approvalId)).approver;
}

/**
 * Asks for (or uses) the approval of a principal change once: a retry after the set moved has
 * already used it. The parameters bind the approval to the exact change and, for an existing
 * principal, to its creation time, so an approval about a removed principal is void for a
 * principal later added under the same name.
 */
function approvalOnce(ctx: VaultContext, actor: Actor) {
  let done = false;
  return async (operation: CriticalOperation, target: string, params: unknown) => {
    if (done) return;
    await requireApproval(ctx, actor.principal, {
      operation,
      target,
      params,
      ...(actor.approvalId !== undefined ? { approvalId: actor.approvalId } : {}),
    });
    done = true;
  };
}

/** Adds one principal: a security admin's request, approved by another independent one. */
export async function addPrincipal(
  ctx: VaultContext,
  actor: Actor,
  input: NewPrincipal,
): Promise<AddedPrincipal> {
  const store = storeOf(ctx);
  checkName(store, input.name);
  const roles = checkRoles(input.roles);
  if (actor.principal === OWNER && (await store.list()).principals.length === 0) {
    const [only] = await bootstrapPrincipals(ctx, actor, [input]);
    return only as AddedPrincipal;
  }
  const approve = approvalOnce(ctx, actor);
  return onCurrentSet(store, async (set) => {
    const requester = requesterIn(set, actor);
    if (set.principals.some((p) => p.name === input.name))
      throw new AlreadyExistsError(`principal "${input.name}" already exists`);
    await approve(CriticalOperation.AddPrincipal, described(input.name, roles), { name: input.name, roles });
    const now = ctx.deps.clock.now();
    const approvedBy = await approverOf(ctx, actor);
    const { stored, token } = newPrincipal(store, {
      name: input.name,
      roles,
      created: now,
      createdBy: requester.name,
      ...(approvedBy ? { approvedBy } : {}),
      rolesSince: now,
      lineage: [...lineageOf(requester)],
    });
    await store.add([stored], set.revision);
    const { tokenSha256: _, ...principal } = stored;
    return { principal, ...(token ? { token } : {}) };
  });
}

/** Removes a principal (approved); never the last security admin. */
export async function removePrincipal(ctx: VaultContext, actor: Actor, name: string): Promise<void> {
  const store = storeOf(ctx);
  const approve = approvalOnce(ctx, actor);
  await onCurrentSet(store, async (set) => {
    requesterIn(set, actor);
    const target = targetIn(set, name);
    if (isAdmin(target) && set.principals.filter(isAdmin).length === 1)
      throw new ConflictError(`${name} is the last security admin: add another before removing it`);
    await approve(CriticalOperation.RemovePrincipal, name, { name, created: target.created });
    await store.remove(name, set.revision);
  });
}

/** Replaces a principal's roles (approved); the last security admin keeps its role. */
export async function setPrincipalRoles(
  ctx: VaultContext,
  actor: Actor,
  name: string,
  newRoles: readonly string[],
): Promise<PrincipalRecord> {
  const store = storeOf(ctx);
  const roles = checkRoles(newRoles);
  const approve = approvalOnce(ctx, actor);
  return onCurrentSet(store, async (set) => {
    const requester = requesterIn(set, actor);
    const target = targetIn(set, name);
    if (target.roles.join() === roles.join())
      throw new ValidationError(`${name} already has exactly the roles ${roles.join(", ")}`);
    const admins = set.principals.filter(isAdmin);
    if (isAdmin(target) && !roles.includes(Role.SecurityAdmin) && admins.length === 1)
      throw new ConflictError(`${name} is the last security admin: it keeps the security-admin role`);
    await approve(CriticalOperation.SetPrincipalRoles, described(name, roles), {
      name,
      roles,
      created: target.created,
    });
    const approvedBy = await approverOf(ctx, actor);
    // Whoever changed its roles is in its lineage from now on, with their own lineage.
    const lineage = new Set([...target.lineage, ...lineageOf(requester)]);
    lineage.delete(name);
    return store.setRoles(
      name,
      {
        roles,
        rolesSince: ctx.deps.clock.now(),
        lineage: [...lineage],
        ...(approvedBy ? { approvedBy } : {}),
      },
      set.revision,
    );
  });
}

import { randomBytes } from "node:crypto";
import type { VaultContext } from "../engine/store/vault-config.ts";
import { ValidationError } from "../errors.ts";
import {
  type PrincipalRecord,
  type PrincipalStore,
  type StoredPrincipal,
  tokenDigest,
} from "../ports/principals.ts";
import { ROLES, Role } from "./roles.ts";

/** The checks and pieces principal changes share (see rules/principals.ts). */

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const IAM_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(user|role)\/[A-Za-z0-9+=,.@_/-]{1,512}$/;

/** The vault's principal store; a vault built without one cannot have principals. */
export function storeOf(ctx: VaultContext): PrincipalStore {
  const store = ctx.deps.principals;
  if (!store) throw new ValidationError("this vault was opened without a principal store");
  return store;
}

export function checkName(store: PrincipalStore, name: string): void {
  if (store.identities === "iam" ? !IAM_ARN.test(name) : !NAME.test(name)) {
    throw new ValidationError(
      store.identities === "iam"
        ? `principal "${name}" is not an IAM user or role ARN (arn:aws:iam::ACCOUNT:user/NAME or :role/NAME)`
        : `principal name "${name}" is invalid: 1-64 letters, digits, ".", "_", "@" or "-"`,
    );
  }
}

export function checkRoles(roles: readonly string[]): Role[] {
  if (roles.length === 0) throw new ValidationError("a principal needs at least one --role");
  for (const r of roles)
    if (!ROLES.includes(r as Role))
      throw new ValidationError(`role "${r}" is unknown: use ${ROLES.join(", ")}`);
  return [...new Set(roles as Role[])].sort();
}

export const isAdmin = (p: { roles: readonly string[] }) => p.roles.includes(Role.SecurityAdmin);

/** A new stored principal, with a token where the store's principals have tokens. */
export function newPrincipal(
  store: PrincipalStore,
  record: PrincipalRecord,
): { stored: StoredPrincipal; token?: string } {
  if (store.identities !== "token") return { stored: record };
  const token = `bv_${randomBytes(24).toString("base64url")}`;
  return { stored: { ...record, tokenSha256: tokenDigest(token) }, token };
}

/**
 * A request's target as its approver reads it: the principal and the roles it would get (an
 * approval request stores no parameters, only their digest).
 */
export function described(name: string, roles: readonly string[]): string {
  return `${name} as ${roles.join("+")}`;
}

import { AccessDeniedError } from "../errors.ts";
import type { PrincipalRecord, PrincipalStore } from "../ports/principals.ts";
import { OWNER, type Principal } from "./roles.ts";

/**
 * Who is calling, from what a front door authenticated: an API token (embedded vaults) or an
 * IAM identity (AWS). A vault without principals is single-user: every caller is its owner.
 * Once it has principals, a caller that is not one of them is denied.
 */

const asPrincipal = (p: PrincipalRecord): Principal => ({ name: p.name, roles: p.roles });

/** The caller presenting `token` (none: undefined). */
export async function principalByToken(store: PrincipalStore, token: string | undefined): Promise<Principal> {
  const { principals } = await store.list();
  if (principals.length === 0) return OWNER;
  if (!token)
    throw new AccessDeniedError("this vault has principals: pass an API token (--token or BLOCKVAULT_TOKEN)");
  const found = await store.getByToken(token);
  if (!found) throw new AccessDeniedError("the API token is not valid for this vault");
  return asPrincipal(found);
}

/**
 * The caller with IAM identity `arn`: the principal named by that ARN, or, for an assumed-role
 * session, by its role. The principal is the configured identity, not the session: a session's
 * name is chosen by whoever assumes the role, so two sessions of one role are one principal (and
 * cannot approve each other's requests).
 */
export async function principalByArn(store: PrincipalStore, arn: string): Promise<Principal> {
  const { principals } = await store.list();
  if (principals.length === 0) return OWNER;
  const role = roleArnOf(arn);
  const found = principals.find((p) => p.name === arn) ?? principals.find((p) => p.name === role);
  if (!found) throw new AccessDeniedError(`${arn} is not a principal of this vault`);
  return asPrincipal(found);
}

/**
 * The IAM role behind an assumed-role session ARN (`arn:aws:sts::123:assumed-role/ops/alice`
 * → `arn:aws:iam::123:role/ops`), which is what a configuration names; undefined for others.
 * A session ARN does not carry the role's path, so roles with a path are configured without it.
 */
export function roleArnOf(arn: string): string | undefined {
  const m = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : undefined;
}

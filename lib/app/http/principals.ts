import { AccessDeniedError, UnauthenticatedError, ValidationError } from "../../errors.ts";
import type { PrincipalStore } from "../../ports/principals.ts";
import { principalByArn, principalByToken, roleArnOf } from "../../rules/callers.ts";
import { type Principal, ROLES, type Role } from "../../rules/roles.ts";
import type { ResolvePrincipal } from "./types.ts";

/** IAM ARNs (users, roles) and the vault roles each holds. */
export type IamRoleMap = ReadonlyMap<string, readonly Role[]>;

/**
 * Reads the IAM → roles configuration: a JSON object such as
 * `{"arn:aws:iam::123456789012:role/ops": ["operator"]}`. A mistake is refused whole, naming
 * `setting` (the environment variable it came from): a half-read map would deny or grant at
 * random.
 */
export function parseIamRoleMap(text: string | undefined, setting = "BLOCKVAULT_PRINCIPALS"): IamRoleMap {
  if (text === undefined || text.trim() === "") return new Map();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${setting} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new ValidationError(`${setting} must be a JSON object of IAM ARN → list of roles`);
  const map = new Map<string, Role[]>();
  for (const [arn, roles] of Object.entries(parsed)) {
    if (!/^arn:aws[a-z-]*:(iam|sts)::\d{12}:/.test(arn))
      throw new ValidationError(`${setting}: "${arn}" is not an IAM user or role ARN`);
    if (!Array.isArray(roles) || roles.length === 0 || roles.some((r) => !ROLES.includes(r as Role)))
      throw new ValidationError(`${setting}["${arn}"] must be a non-empty list of ${ROLES.join(", ")}`);
    map.set(arn, [...new Set(roles as Role[])]);
  }
  return map;
}

export { roleArnOf };

/** The IAM identity API Gateway verified, or AccessDeniedError. */
function callerOf(request: { caller?: string }): string {
  if (!request.caller)
    throw new AccessDeniedError("the request carries no IAM identity (is the route IAM-authorized?)");
  return request.caller;
}

/**
 * The caller in the cloud: the IAM identity API Gateway verified (`request.caller`), with the
 * roles `map` gives it or its role. The principal is the configured ARN, not the session (whose
 * name the caller chooses), so two sessions of one role are one principal. A caller that is not
 * configured is denied.
 */
export function iamPrincipals(map: IamRoleMap): ResolvePrincipal {
  return async (request) => {
    const arn = callerOf(request);
    const role = roleArnOf(arn);
    const name = map.has(arn) ? arn : role;
    const roles = name === undefined ? undefined : map.get(name);
    if (name === undefined || !roles) throw new AccessDeniedError(`${arn} is not a principal of this vault`);
    return { name, roles };
  };
}

/**
 * The caller in the cloud, from the vault's own principals (see `principalByArn`): what
 * `blockvault principal` changes takes effect on the next request. A vault without principals
 * has no owner over the API: every caller is denied.
 */
export function storedIamPrincipals(store: PrincipalStore): ResolvePrincipal {
  return async (request) => {
    const arn = callerOf(request);
    if ((await store.list()).principals.length === 0)
      throw new AccessDeniedError(`${arn} is not a principal of this vault: it has none yet`);
    return principalByArn(store, arn);
  };
}

/** The token of an `Authorization: Bearer …` header, undefined without the header. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) throw new UnauthenticatedError("the Authorization header must be a bearer token (Bearer TOKEN)");
  return m[1];
}

/** The caller from a bearer token, resolved by `resolve` (no token: `resolve(undefined)`). */
export function bearerPrincipals(
  resolve: (token: string | undefined) => Promise<Principal>,
): ResolvePrincipal {
  return (request) => resolve(bearerToken(request.headers.authorization));
}

/**
 * The caller of an embedded vault (`blockvault serve`): the API tokens of the vault's principals
 * (`store`), as the CLI's `--token` (a vault without principals is single-user: the caller is its
 * owner).
 */
export function localTokenPrincipals(store: PrincipalStore): ResolvePrincipal {
  return bearerPrincipals(async (token) => {
    try {
      return await principalByToken(store, token);
    } catch (err) {
      // A missing or unknown token is a question of who is calling (401), not of what they may do.
      if (err instanceof AccessDeniedError) throw new UnauthenticatedError(err.message);
      throw err;
    }
  });
}

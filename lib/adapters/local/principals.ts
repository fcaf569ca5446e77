import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmod, readFile, rename, writeFile } from "node:fs/promises";
import {
  AccessDeniedError,
  AlreadyExistsError,
  IntegrityError,
  NotFoundError,
  ValidationError,
} from "../../errors.ts";
import { OWNER, type Principal, ROLES, type Role } from "../../rules/roles.ts";

/** One principal of an embedded vault: its roles and the SHA-256 of its API token. */
interface StoredPrincipal {
  readonly name: string;
  readonly roles: Role[];
  readonly tokenSha256: string;
  readonly created: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

async function load(path: string): Promise<StoredPrincipal[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return [];
    throw err;
  }
  try {
    return (JSON.parse(text) as { principals: StoredPrincipal[] }).principals;
  } catch (cause) {
    throw new IntegrityError(`principals file ${path} is not valid JSON`, { cause });
  }
}

async function save(path: string, principals: StoredPrincipal[]): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(temp, JSON.stringify({ version: 1, principals }, null, 2), { mode: 0o600 });
  // Why: the umask can only remove bits; the chmod makes the mode exact (token hashes inside).
  await chmod(temp, 0o600);
  await rename(temp, path);
}

const sha256 = (token: string) => createHash("sha256").update(token).digest();

/**
 * Resolves the caller of an embedded vault from its API token. A vault with no principals is
 * single-user: the caller is its owner, with every role. Once principals exist, a valid token is
 * required. Only token hashes are stored.
 */
export async function resolvePrincipal(path: string, token: string | undefined): Promise<Principal> {
  const principals = await load(path);
  if (principals.length === 0) return OWNER;
  if (!token)
    throw new AccessDeniedError("this vault has principals: pass an API token (--token or BLOCKVAULT_TOKEN)");
  const digest = sha256(token);
  const found = principals.find((p) => timingSafeEqual(Buffer.from(p.tokenSha256, "hex"), digest));
  if (!found) throw new AccessDeniedError("the API token is not valid for this vault");
  return { name: found.name, roles: found.roles };
}

/** Adds a principal with `roles` and returns its new API token (shown once, stored hashed). */
export async function addPrincipal(path: string, name: string, roles: readonly string[]): Promise<string> {
  if (!NAME.test(name))
    throw new ValidationError(
      `principal name "${name}" is invalid: 1-64 letters, digits, ".", "_", "@" or "-"`,
    );
  if (roles.length === 0) throw new ValidationError("a principal needs at least one --role");
  for (const r of roles) {
    if (!ROLES.includes(r as Role))
      throw new ValidationError(`role "${r}" is unknown: use ${ROLES.join(", ")}`);
  }
  const principals = await load(path);
  if (principals.some((p) => p.name === name))
    throw new AlreadyExistsError(`principal "${name}" already exists`);
  const token = `bv_${randomBytes(24).toString("base64url")}`;
  principals.push({
    name,
    roles: [...new Set(roles as Role[])],
    tokenSha256: sha256(token).toString("hex"),
    created: Date.now(),
  });
  await save(path, principals);
  return token;
}

/** Removes a principal; its token stops working at once. */
export async function removePrincipal(path: string, name: string): Promise<void> {
  const principals = await load(path);
  const rest = principals.filter((p) => p.name !== name);
  if (rest.length === principals.length) throw new NotFoundError(`principal "${name}" does not exist`);
  await save(path, rest);
}

/** The principals, without their token hashes. */
export async function listPrincipals(path: string): Promise<Principal[]> {
  return (await load(path)).map((p) => ({ name: p.name, roles: p.roles }));
}

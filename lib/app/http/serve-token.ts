import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { AccessDeniedError, UnauthenticatedError } from "../../errors.ts";
import type { PrincipalStore } from "../../ports/principals.ts";
import { principalByToken } from "../../rules/callers.ts";
import { OWNER, type Principal } from "../../rules/roles.ts";
import { bearerToken } from "./principals.ts";
import type { ResolvePrincipal } from "./types.ts";

/** The file, in the vault directory, holding the token of the running `serve`. */
export const SERVE_TOKEN_FILE = "serve-token";

/** Where `serve` writes its token for the vault in `vaultDir`. */
export function serveTokenPath(vaultDir: string): string {
  return join(vaultDir, SERVE_TOKEN_FILE);
}

/**
 * Makes a new random token and writes it to `path`, mode 0600, replacing the previous one
 * atomically (a temporary file renamed over it): a reader sees the old token or the new one,
 * never a partial file, and the previous server's token stops working. Like Jupyter's, it
 * gives a vault's owner, and only processes that can read the owner's files, the key to a
 * server that would otherwise act as the owner for every local caller.
 */
export async function writeServeToken(path: string): Promise<string> {
  const token = `bvs_${randomBytes(32).toString("base64url")}`;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temp, "wx", 0o600);
  try {
    await handle.writeFile(`${token}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path).catch(async (err: unknown) => {
    await rm(temp, { force: true });
    throw err;
  });
  return token;
}

const digest = (token: string) => createHash("sha256").update(token).digest();

/** Compares in constant time (on digests, so lengths never differ). */
function sameToken(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Who calls `blockvault serve`: every request carries `Authorization: Bearer TOKEN`. While the
 * vault has no principals (read at each request, so adding one takes effect at once), the token
 * is the server's own (`serveToken`) and the caller is the owner; once it has principals, only
 * their tokens are valid and the server's token stops working. `principals` undefined: a vault
 * whose principals are not token-based (on AWS), where the server's token is always the one.
 */
export function serveTokenPrincipals(options: {
  readonly serveToken: string;
  /** The embedded vault's principals, whose API tokens are checked. */
  readonly principals?: PrincipalStore;
  readonly tokenFile: string;
  /** Who the server's token stands for: the vault's owner, or on AWS this process's caller. */
  readonly owner?: Principal;
}): ResolvePrincipal {
  const { serveToken, principals: store } = options;
  // The file's name only: an unauthenticated caller learns nothing of the server's paths.
  const tokenName = basename(options.tokenFile);
  return async (request): Promise<Principal> => {
    const token = bearerToken(request.headers.authorization);
    const principals = store ? (await store.list()).principals : [];
    if (principals.length === 0) {
      if (token === undefined) {
        throw new UnauthenticatedError(
          `pass the server's token: Authorization: Bearer <the contents of ${tokenName}>`,
        );
      }
      if (!sameToken(token, serveToken))
        throw new UnauthenticatedError("the bearer token is not valid for this server");
      return options.owner ?? OWNER;
    }
    if (token === undefined) {
      throw new UnauthenticatedError(
        "this vault has principals: pass an API token (Authorization: Bearer TOKEN)",
      );
    }
    try {
      return await principalByToken(store!, token);
    } catch (err) {
      if (err instanceof AccessDeniedError)
        throw new UnauthenticatedError("the API token is not valid for this vault");
      throw err;
    }
  };
}

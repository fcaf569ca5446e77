import { randomBytes } from "node:crypto";
import { filePrincipalStore } from "../../lib/adapters/local/principals.ts";
import { tokenDigest } from "../../lib/ports/principals.ts";
import type { Role } from "../../lib/rules/roles.ts";

/**
 * Adds a principal straight to an embedded vault's principal file, as the owner editing it by
 * hand would, and returns its token: for tests of what a caller with these roles meets, where the
 * approval rules around adding one are beside the point.
 */
export async function writePrincipal(file: string, name: string, roles: readonly Role[]): Promise<string> {
  const store = filePrincipalStore(file);
  const token = `bv_${randomBytes(24).toString("base64url")}`;
  const now = Date.now();
  const record = {
    name,
    roles,
    created: now,
    createdBy: "owner",
    rolesSince: now,
    lineage: [],
    tokenSha256: tokenDigest(token),
  };
  await store.add([record], (await store.list()).revision);
  return token;
}

/** Removes a principal straight from the file (see {@link writePrincipal}). */
export async function erasePrincipal(file: string, name: string): Promise<void> {
  const store = filePrincipalStore(file);
  await store.remove(name, (await store.list()).revision);
}

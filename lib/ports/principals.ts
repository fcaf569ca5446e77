import { createHash } from "node:crypto";
import type { Role } from "../rules/roles.ts";

/**
 * One principal of a vault: who may call it, with which roles, and who put it there.
 *
 * Locally a principal is a name with an API token (only its SHA-256 is stored); on AWS it is an
 * IAM user or role, named by its ARN, and needs no token (IAM authenticates it).
 */
export interface PrincipalRecord {
  /** A name locally, an IAM user or role ARN on AWS. */
  readonly name: string;
  readonly roles: readonly Role[];
  /** When this principal was added (a removed and re-added name is a new principal). */
  readonly created: number;
  /** Who requested its creation: a principal, `owner` (bootstrap) or `deployment` (seed). */
  readonly createdBy: string;
  /** Who approved its creation or its last role change, when someone had to. */
  readonly approvedBy?: string;
  /** When it got the roles it has: its creation, or its last role change. */
  readonly rolesSince: number;
  /**
   * Every principal who requested its creation or a change of its roles, and theirs, and so on
   * (never `owner` or `deployment`). Two principals whose lineages (each with itself) meet are
   * taken to be one person: neither approves the other's requests.
   */
  readonly lineage: readonly string[];
}

/** A principal as stored locally: with the SHA-256 (hex) of its API token. */
export interface StoredPrincipal extends PrincipalRecord {
  readonly tokenSha256?: string;
}

/** The vault's principals and the revision of the set (0 when none were ever written). */
export interface PrincipalSet {
  readonly revision: number;
  readonly principals: readonly PrincipalRecord[];
}

/** What a role change writes on the principal. */
export type RoleChange = Pick<PrincipalRecord, "roles" | "rolesSince" | "lineage" | "approvedBy">;

/**
 * Where a vault's principals live. The set is versioned as a whole: every change names the
 * revision it was decided on and is refused with a retryable `ConflictError` when the set has
 * moved since, so a rule that looks at all principals (is this the last security admin?) holds
 * when the change lands, whatever runs beside it. Changes are atomic and durable when they
 * return: after a crash the set is the old one or the new one.
 *
 * Contract (checked by `test/contract/principals.contract.ts` on every adapter):
 * - `list` returns every principal, in the order added, never with a token digest;
 * - `getByToken` finds the principal whose token digest matches, comparing in constant time;
 *   undefined for an unknown token, or for a store whose principals have no tokens;
 * - `add` adds one or more principals at once, create-only: `AlreadyExistsError` (and nothing
 *   added) when a name exists or repeats;
 * - `remove` and `setRoles` are `NotFoundError` for a name that does not exist;
 * - each change increments the revision by one and returns the new one (`setRoles`: the record).
 */
export interface PrincipalStore {
  /** Which identities its principals are: API tokens (embedded vaults) or IAM ARNs (AWS). */
  readonly identities: "token" | "iam";
  list(): Promise<PrincipalSet>;
  getByToken(token: string): Promise<PrincipalRecord | undefined>;
  add(principals: readonly StoredPrincipal[], expectedRevision: number): Promise<number>;
  remove(name: string, expectedRevision: number): Promise<number>;
  setRoles(name: string, change: RoleChange, expectedRevision: number): Promise<PrincipalRecord>;
}

/** The SHA-256 of an API token, hex: all that is ever stored of it. */
export function tokenDigest(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

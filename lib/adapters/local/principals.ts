import { randomBytes } from "node:crypto";
import { readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { ConflictError, IntegrityError } from "../../errors.ts";
import type { PrincipalRecord, PrincipalStore, StoredPrincipal } from "../../ports/principals.ts";
import { principalByToken } from "../../rules/callers.ts";
import { type Principal, ROLES, type Role } from "../../rules/roles.ts";
import {
  DocumentPrincipalStore,
  type PrincipalDocument,
  type PrincipalDocumentIo,
} from "../principal-document.ts";
import { FileLock } from "./file-lock.ts";
import { errnoCode, translateFsError } from "./fs-errors.ts";
import { syncDirectory, writeDurably } from "./fs-io.ts";

/**
 * The principals of an embedded vault, in `principals.json` (mode 0600) inside the vault
 * directory: names, roles, lineage, and the SHA-256 of each API token.
 *
 * Format version 2 adds the set's `revision` and each principal's `createdBy`, `rolesSince` and
 * `lineage`. A version-1 file still loads: its principals count as added by the owner (nothing
 * recorded who added them), at revision 0.
 */
export function filePrincipalStore(file: string): PrincipalStore {
  return new DocumentPrincipalStore(new PrincipalFile(file), "token");
}

/**
 * Resolves the caller of an embedded vault from its API token (see `principalByToken`): the
 * owner while the vault has no principals, else the principal whose token it is.
 */
export async function resolvePrincipal(file: string, token: string | undefined): Promise<Principal> {
  return principalByToken(filePrincipalStore(file), token);
}

/** The principals of the embedded vault whose principals file is `file`, without token digests. */
export async function listPrincipals(file: string): Promise<PrincipalRecord[]> {
  return [...(await filePrincipalStore(file).list()).principals];
}

/** How long a change waits for another process's change before it gives up. */
const LOCK_WAIT_MS = 2_000;

class PrincipalFile implements PrincipalDocumentIo {
  readonly where: string;
  readonly #file: string;
  readonly #lock: string;

  constructor(file: string) {
    this.#file = file;
    this.where = file;
    this.#lock = path.join(path.dirname(file), `.${path.basename(file)}.lock`);
  }

  async load(): Promise<PrincipalDocument> {
    let text: string;
    try {
      text = await readFile(this.#file, "utf8");
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return { revision: 0, principals: [] };
      throw translateFsError(err, `read principals file ${this.#file}`);
    }
    return parse(this.#file, text);
  }

  /**
   * Under a lock file (so two processes cannot both read revision n and write n + 1), checks the
   * revision and replaces the file: temporary file, fsync, rename, directory fsync.
   */
  async replace(next: PrincipalDocument, expectedRevision: number): Promise<boolean> {
    const lock = new FileLock(this.#lock, LOCK_WAIT_MS);
    await lock.acquire(this.#file);
    try {
      if ((await this.load()).revision !== expectedRevision) return false;
      const temp = `${this.#file}.${randomBytes(4).toString("hex")}.tmp`;
      const body = JSON.stringify({ version: 2, ...next }, null, 2);
      await writeDurably(temp, Buffer.from(body), 0o600);
      if (!(await lock.stillHeld())) {
        await unlink(temp).catch(() => undefined);
        throw new ConflictError(`the change of ${this.#file} lost its lock; try again`, { retryable: true });
      }
      await rename(temp, this.#file);
      await syncDirectory(path.dirname(this.#file));
      return true;
    } catch (err) {
      throw translateFsError(err, `write principals file ${this.#file}`);
    } finally {
      await lock.release();
    }
  }
}

function parse(file: string, text: string): PrincipalDocument {
  let raw: { version?: unknown; revision?: unknown; principals?: unknown };
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new IntegrityError(`principals file ${file} is not valid JSON`, { cause });
  }
  if (!Array.isArray(raw.principals) || (raw.version !== 1 && raw.version !== 2))
    throw new IntegrityError(`principals file ${file} is not a blockvault principals file`);
  const revision = raw.version === 2 ? raw.revision : 0;
  if (typeof revision !== "number" || !Number.isSafeInteger(revision))
    throw new IntegrityError(`principals file ${file} has no valid revision`);
  return { revision, principals: raw.principals.map((p) => principalOf(file, p)) };
}

/** One stored principal, checked; a version-1 entry gets the owner as its creator. */
function principalOf(file: string, raw: unknown): StoredPrincipal {
  const p = raw as Partial<StoredPrincipal> | null;
  const valid =
    typeof p?.name === "string" &&
    Array.isArray(p.roles) &&
    p.roles.every((r) => ROLES.includes(r as Role)) &&
    typeof p.created === "number";
  if (!valid) throw new IntegrityError(`principals file ${file} holds a malformed principal`);
  return {
    name: p.name as string,
    roles: p.roles as Role[],
    created: p.created as number,
    createdBy: typeof p.createdBy === "string" ? p.createdBy : "owner",
    ...(typeof p.approvedBy === "string" ? { approvedBy: p.approvedBy } : {}),
    rolesSince: typeof p.rolesSince === "number" ? p.rolesSince : (p.created as number),
    lineage: Array.isArray(p.lineage) ? p.lineage.filter((n) => typeof n === "string") : [],
    ...(typeof p.tokenSha256 === "string" ? { tokenSha256: p.tokenSha256 } : {}),
  };
}

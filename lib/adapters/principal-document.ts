import { timingSafeEqual } from "node:crypto";
import { AlreadyExistsError, ConflictError, NotFoundError } from "../errors.ts";
import {
  type PrincipalRecord,
  type PrincipalSet,
  type PrincipalStore,
  type RoleChange,
  type StoredPrincipal,
  tokenDigest,
} from "../ports/principals.ts";

/** The principal set as one stored document: what an adapter reads and writes. */
export interface PrincipalDocument {
  readonly revision: number;
  readonly principals: readonly StoredPrincipal[];
}

/** Where a principal document is kept: read it, and replace it if it is still at `expectedRevision`. */
export interface PrincipalDocumentIo {
  /** The document, or revision 0 with no principals when none was ever written. */
  load(): Promise<PrincipalDocument>;
  /** Writes `next` atomically and durably; false (nothing written) when the stored revision moved. */
  replace(next: PrincipalDocument, expectedRevision: number): Promise<boolean>;
  /** Names the store in messages. */
  readonly where: string;
}

/** A record without its token digest. */
function publicRecord(p: StoredPrincipal): PrincipalRecord {
  const { tokenSha256: _, ...record } = p;
  return record;
}

/**
 * The `PrincipalStore` port over one document holding the whole set: a vault has few principals,
 * and one conditional write keeps every rule over the set (the last security admin) atomic.
 */
export class DocumentPrincipalStore implements PrincipalStore {
  readonly identities: "token" | "iam";
  readonly #io: PrincipalDocumentIo;

  constructor(io: PrincipalDocumentIo, identities: "token" | "iam") {
    this.#io = io;
    this.identities = identities;
  }

  async list(): Promise<PrincipalSet> {
    const doc = await this.#io.load();
    return { revision: doc.revision, principals: doc.principals.map(publicRecord) };
  }

  async getByToken(token: string): Promise<PrincipalRecord | undefined> {
    const digest = Buffer.from(tokenDigest(token), "hex");
    const { principals } = await this.#io.load();
    const found = principals.find(
      (p) => p.tokenSha256 !== undefined && timingSafeEqual(Buffer.from(p.tokenSha256, "hex"), digest),
    );
    return found && publicRecord(found);
  }

  async add(principals: readonly StoredPrincipal[], expectedRevision: number): Promise<number> {
    return this.#change(expectedRevision, (all) => {
      const names = new Set(all.map((p) => p.name));
      for (const { name } of principals) {
        if (names.has(name)) throw new AlreadyExistsError(`principal "${name}" already exists`);
        names.add(name);
      }
      return [...all, ...principals];
    });
  }

  async remove(name: string, expectedRevision: number): Promise<number> {
    return this.#change(expectedRevision, (all) => {
      const rest = all.filter((p) => p.name !== name);
      if (rest.length === all.length) throw new NotFoundError(`principal "${name}" does not exist`);
      return rest;
    });
  }

  async setRoles(name: string, change: RoleChange, expectedRevision: number): Promise<PrincipalRecord> {
    let updated: StoredPrincipal | undefined;
    await this.#change(expectedRevision, (all) => {
      const current = all.find((p) => p.name === name);
      if (!current) throw new NotFoundError(`principal "${name}" does not exist`);
      const { approvedBy: _, ...rest } = current;
      updated = { ...rest, ...change };
      if (change.approvedBy === undefined) delete (updated as { approvedBy?: string }).approvedBy;
      return all.map((p) => (p.name === name ? (updated as StoredPrincipal) : p));
    });
    return publicRecord(updated as StoredPrincipal);
  }

  async #change(
    expectedRevision: number,
    apply: (all: readonly StoredPrincipal[]) => StoredPrincipal[],
  ): Promise<number> {
    const doc = await this.#io.load();
    if (doc.revision !== expectedRevision) throw moved(this.#io.where, expectedRevision, doc.revision);
    const next = { revision: doc.revision + 1, principals: apply(doc.principals) };
    if (!(await this.#io.replace(next, expectedRevision)))
      throw moved(this.#io.where, expectedRevision, undefined);
    return next.revision;
  }
}

function moved(where: string, expected: number, found: number | undefined): ConflictError {
  const now = found === undefined ? "it moved" : `it is at ${found}`;
  return new ConflictError(
    `the principals in ${where} changed meanwhile (expected revision ${expected}, ${now}): try again`,
    { retryable: true },
  );
}

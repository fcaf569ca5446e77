import {
  AccessDeniedError,
  AlreadyExistsError,
  BlockvaultError,
  IntegrityError,
  NotFoundError,
  TransientError,
  ValidationError,
} from "../../errors.ts";

/**
 * SQLite result codes this adapter distinguishes. `node:sqlite` reports the *extended* code in
 * `errcode`; its low byte is the primary code.
 * See https://www.sqlite.org/rescode.html.
 */
const SQLITE = {
  PERM: 3,
  BUSY: 5,
  LOCKED: 6,
  READONLY: 8,
  IOERR: 10,
  CORRUPT: 11,
  FULL: 13,
  CONSTRAINT: 19,
  NOTADB: 26,
  CONSTRAINT_FOREIGNKEY: 787,
  CONSTRAINT_PRIMARYKEY: 1555,
  CONSTRAINT_UNIQUE: 2067,
} as const;

/** The extended SQLite result code of an error thrown by `node:sqlite`, if it carries one. */
export function sqliteCode(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null || !("errcode" in err)) return undefined;
  const { errcode } = err as { errcode: unknown };
  return typeof errcode === "number" ? errcode : undefined;
}

/**
 * Translates an error thrown by `node:sqlite` into the product's hierarchy, keeping it as
 * `cause`; `what` names the operation and leads the message. Lock contention that outlasted the
 * busy timeout is a retryable `TransientError`; a uniqueness violation is `AlreadyExistsError`; a
 * missing vault (foreign key) is `NotFoundError`; other constraint failures mean the record
 * itself is invalid (`ValidationError`). Errors already in the hierarchy pass through.
 */
export function translateSqliteError(err: unknown, what: string): BlockvaultError {
  if (err instanceof BlockvaultError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  const code = sqliteCode(err);
  if (code === undefined) return new BlockvaultError(`${what}: ${detail}`, { cause: err });
  const opts = { cause: err };
  switch (code) {
    case SQLITE.CONSTRAINT_PRIMARYKEY:
    case SQLITE.CONSTRAINT_UNIQUE:
      return new AlreadyExistsError(`${what}: a record with that id already exists`, opts);
    case SQLITE.CONSTRAINT_FOREIGNKEY:
      return new NotFoundError(`${what}: the vault it belongs to does not exist`, opts);
  }
  switch (code & 0xff) {
    case SQLITE.BUSY:
    case SQLITE.LOCKED:
      return new TransientError(`${what}: the catalog database is busy (${detail})`, opts);
    case SQLITE.IOERR:
      return new TransientError(`${what}: I/O error in the catalog database (${detail})`, opts);
    case SQLITE.CONSTRAINT:
      return new ValidationError(`${what}: invalid record (${detail})`, opts);
    case SQLITE.PERM:
    case SQLITE.READONLY:
      return new AccessDeniedError(`${what}: the catalog database is not writable (${detail})`, opts);
    case SQLITE.FULL:
      return new BlockvaultError(`${what}: no space left for the catalog database (${detail})`, {
        ...opts,
        code: "NO_SPACE",
      });
    case SQLITE.CORRUPT:
    case SQLITE.NOTADB:
      return new IntegrityError(
        `${what}: the catalog database is damaged or not a database (${detail})`,
        opts,
      );
  }
  return new BlockvaultError(`${what}: ${detail}`, opts);
}

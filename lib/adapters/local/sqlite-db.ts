import { chmodSync, closeSync, constants, openSync, statSync } from "node:fs";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { NotFoundError } from "../../errors.ts";
import { translateSqliteError } from "./sqlite-errors.ts";
import type { Params, Row } from "./sqlite-rows.ts";
import { migrate } from "./sqlite-schema.ts";

/**
 * A thin layer over one `node:sqlite` connection for the catalog: opens and migrates the database,
 * caches prepared statements, translates every SQLite error (each call names what it was doing,
 * for the message) and runs write transactions.
 */
export class SqliteDb {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  /**
   * Opens (creating if needed) the database at `path` in WAL mode with foreign keys on, waiting up
   * to `busyTimeoutMs` for other connections' locks, and brings it to the current schema.
   */
  constructor(path: string, busyTimeoutMs: number) {
    let db: DatabaseSync | undefined;
    try {
      if (path !== ":memory:") makePrivate(path);
      db = new DatabaseSync(path);
      // busy_timeout first: switching to WAL itself may have to wait for another connection.
      db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA foreign_keys = ON");
      migrate(db, path);
    } catch (err) {
      if (db?.isOpen) db.close();
      throw translateSqliteError(err, `open catalog ${path}`);
    }
    this.#db = db;
  }

  /** The single row `sql` selects; `NotFoundError` "`what` not found" when there is none. */
  one(what: string, sql: string, params: Params): Row {
    const row = this.get(`read ${what}`, sql, params);
    if (row === undefined) throw new NotFoundError(`${what} not found`);
    return row;
  }

  /** The first row `sql` selects, if any. */
  get(what: string, sql: string, params: Params): Row | undefined {
    return this.#translated(what, () => this.#statement(sql).get(params));
  }

  /** Every row `sql` selects. */
  all(what: string, sql: string, params: Params): Row[] {
    return this.#translated(what, () => this.#statement(sql).all(params));
  }

  /** Runs a statement that returns no rows. */
  run(what: string, sql: string, params: Params): void {
    this.#translated(what, () => this.#statement(sql).run(params));
  }

  /**
   * Runs `fn` in a `BEGIN IMMEDIATE` transaction, rolling back whatever it did if it throws.
   * IMMEDIATE takes the write lock up front, so no other connection can write between the reads
   * `fn` bases its decision on and the writes it makes.
   */
  transaction<T>(what: string, fn: () => T): T {
    return this.#translated(what, () => {
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        const result = fn();
        this.#db.exec("COMMIT");
        return result;
      } catch (err) {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw err;
      }
    });
  }

  /** Closes the connection; closing twice is harmless, any other later call fails. */
  close(): void {
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }

  /** A prepared statement for `sql`, cached: the catalog runs a handful of statements many times. */
  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #translated<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw translateSqliteError(err, what);
    }
  }
}

/** The catalog's files: the database and the two SQLite keeps beside it in WAL mode. */
function catalogFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}

/**
 * Creates the database file with mode 0600 when it is missing, and takes group and other bits off
 * any of its files that has them (a catalog made before this rule). SQLite gives the `-wal` and
 * `-shm` files it creates the database file's mode, so they follow it.
 */
function makePrivate(path: string): void {
  try {
    closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600));
    for (const file of catalogFiles(path)) {
      const mode = statSync(file, { throwIfNoEntry: false })?.mode;
      if (mode !== undefined && (mode & 0o077) !== 0) chmodSync(file, mode & 0o700);
    }
  } catch {
    // A file that cannot be made or changed here (no directory, not ours): SQLite's own open
    // reports what is wrong with it, in the catalog's terms.
  }
}

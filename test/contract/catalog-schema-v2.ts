import { DatabaseSync } from "node:sqlite";

/**
 * Schema version 2 of the SQLite catalog exactly as it was released (the version-1 statements,
 * then the step to version 2), frozen here rather than imported, so that the migration to later
 * versions keeps being tested against what version-2 catalogs really hold.
 */
export const SCHEMA_V2_AS_RELEASED = `
CREATE TABLE vaults (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  block_size INTEGER NOT NULL
) STRICT;

CREATE TABLE disks (
  vault_id TEXT NOT NULL REFERENCES vaults (id),
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  size INTEGER NOT NULL,
  source TEXT NOT NULL,
  policy TEXT,
  PRIMARY KEY (vault_id, name)
) STRICT;

CREATE TABLE recovery_points (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  vault_id TEXT NOT NULL REFERENCES vaults (id),
  id TEXT NOT NULL,
  disk TEXT NOT NULL,
  created INTEGER NOT NULL,
  parent TEXT,
  consistency TEXT NOT NULL,
  logical_size INTEGER NOT NULL,
  bytes_stored INTEGER NOT NULL,
  manifest TEXT NOT NULL,
  tier TEXT NOT NULL,
  state TEXT NOT NULL,
  source_ref TEXT,
  delete_after INTEGER,
  UNIQUE (vault_id, id)
) STRICT;

CREATE INDEX recovery_points_by_disk
  ON recovery_points (vault_id, disk, created DESC, seq DESC);
CREATE INDEX recovery_points_by_vault
  ON recovery_points (vault_id, created DESC, seq DESC);

CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  vault_id TEXT NOT NULL REFERENCES vaults (id),
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  disk TEXT,
  recovery_point TEXT,
  started INTEGER NOT NULL,
  ended INTEGER,
  bytes_scanned INTEGER NOT NULL,
  bytes_changed INTEGER NOT NULL,
  bytes_stored INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  error TEXT,
  detail TEXT,
  UNIQUE (vault_id, id)
) STRICT;

CREATE INDEX jobs_by_status ON jobs (vault_id, status, started DESC, seq DESC);
CREATE INDEX jobs_by_vault ON jobs (vault_id, started DESC, seq DESC);

CREATE TABLE policies (
  vault_id TEXT NOT NULL REFERENCES vaults (id),
  name TEXT NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  definition TEXT NOT NULL,
  PRIMARY KEY (vault_id, name)
) STRICT;

CREATE TABLE settings (
  vault_id TEXT PRIMARY KEY REFERENCES vaults (id),
  soft_delete_days INTEGER NOT NULL,
  soft_delete_enabled INTEGER NOT NULL CHECK (soft_delete_enabled IN (0, 1)),
  soft_delete_always_on INTEGER NOT NULL CHECK (soft_delete_always_on IN (0, 1)),
  lock TEXT NOT NULL CHECK (lock IN ('unlocked', 'enabled', 'locked')),
  version INTEGER NOT NULL CHECK (version >= 1)
) STRICT;
`;

/** Writes a version-2 catalog at `file` the way that release left it, plus `extra` SQL (rows). */
export function writeV2Catalog(file: string, extra = ""): void {
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`BEGIN; ${SCHEMA_V2_AS_RELEASED} PRAGMA user_version = 2; ${extra} COMMIT;`);
  } finally {
    db.close();
  }
}

/** Runs `fn` on a plain connection to `file`, outside the catalog, with foreign keys on like it. */
export function withRawDb<T>(file: string, fn: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA foreign_keys = ON");
    return fn(db);
  } finally {
    db.close();
  }
}

/** The schema version and table names of the catalog at `file`, read without migrating it. */
export function inspect(file: string): { version: unknown; tables: unknown[] } {
  return withRawDb(file, (db) => ({
    version: db.prepare("PRAGMA user_version").get()?.user_version,
    tables: db
      .prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all()
      .map((row) => row.name),
  }));
}

import { DatabaseSync } from "node:sqlite";
import { SCHEMA_V1_AS_RELEASED } from "./catalog-schema-v1.ts";

/**
 * Schema version 2 of the SQLite catalog exactly as it was released (the version-1 statements,
 * then the step to version 2), frozen here rather than imported, so that the migration to later
 * versions keeps being tested against what version-2 catalogs really hold.
 */
export const SCHEMA_V2_AS_RELEASED = `${SCHEMA_V1_AS_RELEASED}
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

/** The tables of a catalog at the current schema version (8), sorted by name. */
export const CURRENT_TABLES = [
  "approvals",
  "audit",
  "disks",
  "jobs",
  "leases",
  "policies",
  "recovery_points",
  "ref_pack_holders",
  "ref_packs",
  "ref_points",
  "ref_segment_holders",
  "ref_segments",
  "ref_vaults",
  "settings",
  "vaults",
  "vm_point_disks",
  "vm_points",
  "vms",
];

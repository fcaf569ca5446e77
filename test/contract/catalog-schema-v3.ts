import { DatabaseSync } from "node:sqlite";
import { SCHEMA_V2_AS_RELEASED } from "./catalog-schema-v2.ts";

/**
 * Schema version 3 of the SQLite catalog exactly as it was released (version 2 as released, then
 * the step adding the audit log), frozen here rather than imported, so that the migration to later
 * versions keeps being tested against what version-3 catalogs really hold.
 */
export const SCHEMA_V3_AS_RELEASED = `${SCHEMA_V2_AS_RELEASED}
CREATE TABLE audit (
  vault_id TEXT NOT NULL REFERENCES vaults (id),
  seq INTEGER NOT NULL CHECK (seq >= 1),
  at INTEGER NOT NULL,
  principal TEXT NOT NULL CHECK (principal <> ''),
  action TEXT NOT NULL CHECK (action <> ''),
  target TEXT,
  outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'refused', 'failed')),
  detail TEXT CHECK (detail IS NULL OR json_valid(detail)),
  PRIMARY KEY (vault_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER audit_append_in_order BEFORE INSERT ON audit
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM audit WHERE vault_id = NEW.vault_id)
BEGIN
  SELECT RAISE(ABORT, 'audit log: an entry can only be appended as its vault''s next seq');
END;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
  SELECT RAISE(ABORT, 'audit log: entries are append-only and cannot be changed');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
  SELECT RAISE(ABORT, 'audit log: entries are append-only and cannot be deleted');
END;
`;

/** Writes a version-3 catalog at `file` the way that release left it, plus `extra` SQL (rows). */
export function writeV3Catalog(file: string, extra = ""): void {
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`BEGIN; ${SCHEMA_V3_AS_RELEASED} PRAGMA user_version = 3; ${extra} COMMIT;`);
  } finally {
    db.close();
  }
}

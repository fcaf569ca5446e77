/**
 * Schema version 1 exactly as the first release wrote it, frozen here (not imported) so that the
 * migration keeps being tested against what old catalogs really hold.
 */
export const SCHEMA_V1_AS_RELEASED = `
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
`;

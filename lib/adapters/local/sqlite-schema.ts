import type { DatabaseSync } from "node:sqlite";
import { BlockvaultError } from "../../errors.ts";

/**
 * The SQLite catalog's schema. Each version adds a migration step keyed on `PRAGMA user_version`
 * rather than editing the statements of an earlier one: databases written by older releases must
 * keep opening. Version 1 holds vaults, disks, recovery points and jobs; version 2 adds policies
 * and settings; version 3 adds the audit log; version 4 adds approval requests; version 5 adds
 * the reference records of garbage collection; version 6 adds points' retention ends and jobs'
 * heartbeats; version 7 adds the restore directories of the settings; version 8 adds protected VMs and
 * their VM recovery points.
 *
 * Design notes:
 * - Tables are STRICT, so a value of the wrong type is refused instead of silently coerced.
 * - Disks, recovery points and jobs belong to a vault (foreign key): a record naming a vault that
 *   was never created is refused instead of becoming an orphan no listing would show.
 * - Recovery points and jobs carry an AUTOINCREMENT `seq`: it records commit order, which breaks
 *   ties between records created in the same millisecond ("newest first" must stay exact even on
 *   a fast machine), and AUTOINCREMENT never reuses a value.
 * - Recovery points deliberately do not reference `disks`: the port lets a point be committed for
 *   a disk that has no record.
 * - Settings' lock and flags are CHECKed: the vault rules trust what they read, and a misspelt
 *   lock state they do not recognise must never get stored and be taken for "unlocked".
 * - The audit log is append-only in the database itself, not just in the code: triggers abort
 *   any UPDATE or DELETE of an `audit` row, whoever runs it, and any INSERT other than the
 *   vault's next `seq`. The INSERT check is what stops `INSERT OR REPLACE` from overwriting an
 *   entry: the rows REPLACE removes fire no DELETE trigger (unless recursive_triggers is on).
 *   DDL can still drop the table or its triggers; the log guards against mistakes and the API,
 *   not against someone who owns the file.
 * - Approvals' state is CHECKed for the reason settings' lock is: an approval the rules do not
 *   recognise must never be stored, let alone be taken for an approved one.
 */

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = 8;

/** Statements creating schema version 1 in an empty database. */
export const SCHEMA_V1 = `
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

/** Statements bringing schema version 1 to version 2: backup policies and vault settings. */
export const SCHEMA_V2 = `
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

/**
 * Statements bringing schema version 2 to version 3: the audit log. `seq` numbers each vault's
 * entries from 1 (the primary key leads with the vault, so its newest entry is one index probe
 * away); WITHOUT ROWID because that key is the table's only access path.
 */
export const SCHEMA_V3 = `
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

/**
 * Statements bringing schema version 3 to version 4: multi-user authorization requests. `seq`
 * records commit order, to break ties of `created` for "newest first" as in `jobs`; the key is
 * (vault_id, id), so it cannot be an AUTOINCREMENT rowid and the insert assigns it (one more
 * than the table's greatest, under the write lock). Relying on the implicit rowid instead would
 * tie the listing order to a detail VACUUM is allowed to renumber.
 */
export const SCHEMA_V4 = `
CREATE TABLE approvals (
  vault_id TEXT NOT NULL REFERENCES vaults (id),
  id TEXT NOT NULL,
  operation TEXT NOT NULL CHECK (operation <> ''),
  target TEXT,
  params_digest TEXT NOT NULL CHECK (params_digest <> ''),
  requester TEXT NOT NULL CHECK (requester <> ''),
  created INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'used')),
  approver TEXT,
  approved INTEGER,
  used INTEGER,
  seq INTEGER NOT NULL UNIQUE,
  PRIMARY KEY (vault_id, id)
) STRICT;

CREATE INDEX approvals_by_vault ON approvals (vault_id, created DESC, seq DESC);
`;

/**
 * Statements bringing schema version 4 to version 5: garbage collection's reference records (see
 * `lib/ports/references.ts`). Holders are rows, so holding and releasing are idempotent inserts
 * and deletes. Vaults that existed before are not tracked (no `ref_vaults` row).
 */
export const SCHEMA_V5 = `
CREATE TABLE ref_vaults (vault_id TEXT PRIMARY KEY REFERENCES vaults (id));
CREATE TABLE ref_packs (
  vault_id TEXT NOT NULL,
  id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('live', 'condemned', 'deleted')),
  idx TEXT,
  changed INTEGER NOT NULL,
  unheld INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (vault_id, id)
);
CREATE INDEX ref_packs_unheld ON ref_packs (vault_id, changed) WHERE unheld = 1;
CREATE INDEX ref_packs_by_state ON ref_packs (vault_id, state) WHERE state <> 'live';
CREATE INDEX ref_packs_by_index ON ref_packs (vault_id, idx);
CREATE TABLE ref_pack_holders (
  vault_id TEXT NOT NULL,
  pack TEXT NOT NULL,
  segment TEXT NOT NULL,
  PRIMARY KEY (vault_id, pack, segment)
);
CREATE TABLE ref_segments (
  vault_id TEXT NOT NULL,
  id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('live', 'dead')),
  packs TEXT NOT NULL,
  PRIMARY KEY (vault_id, id)
);
CREATE INDEX ref_segments_dead ON ref_segments (vault_id) WHERE state = 'dead';
CREATE TABLE ref_segment_holders (
  vault_id TEXT NOT NULL,
  segment TEXT NOT NULL,
  holder TEXT NOT NULL,
  PRIMARY KEY (vault_id, segment, holder)
);
CREATE TABLE ref_points (
  vault_id TEXT NOT NULL,
  point TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('releasing', 'released')),
  PRIMARY KEY (vault_id, point)
);
CREATE TABLE leases (
  vault_id TEXT NOT NULL,
  name TEXT NOT NULL,
  owner TEXT NOT NULL,
  until INTEGER NOT NULL,
  PRIMARY KEY (vault_id, name)
);
`;

/**
 * Statements bringing schema version 5 to version 6: each recovery point's committed retention
 * end (a lock floor that survives its disk's policy) and each job's heartbeat (a dead process's
 * job is recognised as abandoned).
 */
export const SCHEMA_V6 = `
ALTER TABLE recovery_points ADD COLUMN retain_until INTEGER;
ALTER TABLE jobs ADD COLUMN heartbeat INTEGER;
`;

/**
 * Statements bringing schema version 6 to version 7: the directories restores over HTTP may write
 * files into (a JSON list of absolute paths; empty, the default, allows none).
 */
export const SCHEMA_V7 = `
ALTER TABLE settings ADD COLUMN restore_directories TEXT NOT NULL DEFAULT '[]'
  CHECK (json_valid(restore_directories) AND json_type(restore_directories) = 'array');
`;

/**
 * Statements bringing schema version 7 to version 8: protected VMs (their definition as JSON) and
 * VM recovery points. `vm_point_disks` names each disk point's VM point, in disk order; a VM
 * point and all of its disks' points are inserted in one transaction (sqlite-vms.ts).
 */
export const SCHEMA_V8 = `
CREATE TABLE vms (
  vault_id TEXT NOT NULL REFERENCES vaults (id),
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  definition TEXT NOT NULL CHECK (json_valid(definition)),
  PRIMARY KEY (vault_id, name)
) STRICT;

CREATE TABLE vm_points (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  vault_id TEXT NOT NULL REFERENCES vaults (id),
  id TEXT NOT NULL,
  vm TEXT NOT NULL,
  created INTEGER NOT NULL,
  consistency TEXT NOT NULL
    CHECK (consistency IN ('crash-consistent', 'file-system-consistent', 'application-consistent')),
  consistency_reason TEXT,
  state TEXT NOT NULL CHECK (state IN ('available', 'soft-deleted', 'purged')),
  job TEXT NOT NULL,
  delete_after INTEGER,
  layout TEXT NOT NULL CHECK (json_valid(layout)),
  UNIQUE (vault_id, id)
) STRICT;

CREATE INDEX vm_points_by_vm ON vm_points (vault_id, vm, created DESC, seq DESC);

CREATE TABLE vm_point_disks (
  vault_id TEXT NOT NULL,
  point TEXT NOT NULL,
  vm_point TEXT NOT NULL,
  position INTEGER NOT NULL CHECK (position >= 0),
  PRIMARY KEY (vault_id, point)
) STRICT;

CREATE INDEX vm_point_disks_by_vm_point ON vm_point_disks (vault_id, vm_point, position);
`;

/** `MIGRATIONS[v]` brings a database at schema version `v` to `v + 1` (0 is an empty database). */
const MIGRATIONS: readonly string[] = [
  SCHEMA_V1,
  SCHEMA_V2,
  SCHEMA_V3,
  SCHEMA_V4,
  SCHEMA_V5,
  SCHEMA_V6,
  SCHEMA_V7,
  SCHEMA_V8,
];

/** The statements the catalog runs in more than one place, or that are long. */
export const SQL = {
  insertVault: "INSERT INTO vaults VALUES ($id, $name, $created, $block_size)",
  point: "SELECT * FROM recovery_points WHERE vault_id = $vault_id AND id = $id",
  job: "SELECT * FROM jobs WHERE vault_id = $vault_id AND id = $id",
  updateDiskSize: "UPDATE disks SET size = $size WHERE vault_id = $vault_id AND name = $name",
  upsertDisk: `INSERT INTO disks VALUES ($vault_id, $name, $created, $size, $source, $policy)
    ON CONFLICT (vault_id, name) DO UPDATE SET created = excluded.created, size = excluded.size,
    source = excluded.source, policy = excluded.policy`,
  /** The disk's newest available point: the one a new commit must name as its expected parent. */
  newestAvailablePoint: `SELECT * FROM recovery_points WHERE vault_id = $vault_id AND disk = $disk
    AND state = 'available' ORDER BY created DESC, seq DESC LIMIT 1`,
  /** `seq` is NULL so SQLite assigns the next commit-order number. */
  insertPoint: `INSERT INTO recovery_points VALUES (NULL, $vault_id, $id, $disk, $created, $parent,
    $consistency, $logical_size, $bytes_stored, $manifest, $tier, $state, $source_ref, $delete_after,
    $retain_until)`,
  /** Rewrites a whole point from its merged record (only tier, state, deleteAfter and retainUntil differ). */
  updatePoint: `UPDATE recovery_points SET disk = $disk, created = $created, parent = $parent,
    consistency = $consistency, logical_size = $logical_size, bytes_stored = $bytes_stored,
    manifest = $manifest, tier = $tier, state = $state, source_ref = $source_ref,
    delete_after = $delete_after, retain_until = $retain_until WHERE vault_id = $vault_id AND id = $id`,
  insertVmPoint: `INSERT INTO vm_points VALUES (NULL, $vault_id, $id, $vm, $created, $consistency,
    $consistency_reason, $state, $job, $delete_after, $layout)`,
  insertJob: `INSERT INTO jobs VALUES (NULL, $vault_id, $id, $type, $status, $disk, $recovery_point,
    $started, $ended, $bytes_scanned, $bytes_changed, $bytes_stored, $attempts, $error, $detail, $heartbeat)`,
  updateJob: `UPDATE jobs SET type = $type, status = $status, disk = $disk, recovery_point = $recovery_point,
    started = $started, ended = $ended, bytes_scanned = $bytes_scanned, bytes_changed = $bytes_changed,
    bytes_stored = $bytes_stored, attempts = $attempts, error = $error, detail = $detail,
    heartbeat = $heartbeat WHERE vault_id = $vault_id AND id = $id`,
} as const;

/**
 * Brings the database (empty, or written by an older release) to the current schema, one step at a
 * time in a single transaction, and refuses one from a newer release.
 */
export function migrate(db: DatabaseSync, path: string): void {
  // IMMEDIATE: two processes opening the same old or fresh catalog must not both run the DDL.
  db.exec("BEGIN IMMEDIATE");
  try {
    const version = (db.prepare("PRAGMA user_version").get()?.user_version as number | undefined) ?? 0;
    if (version > SCHEMA_VERSION) {
      throw new BlockvaultError(
        `catalog ${path} has schema version ${version}; this blockvault understands up to ${SCHEMA_VERSION}`,
        { code: "CATALOG_TOO_NEW" },
      );
    }
    if (version < SCHEMA_VERSION) {
      for (const step of MIGRATIONS.slice(version)) db.exec(step);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    }
    db.exec("COMMIT");
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}

import type { SQLInputValue } from "node:sqlite";
import {
  AlreadyExistsError,
  ConflictError,
  IntegrityError,
  NotFoundError,
  ValidationError,
} from "../../errors.ts";
import { defaultSettings, LockState, type PolicyRecord, type VaultSettings } from "../../model.ts";
import { enumField } from "../../util/enum-field.ts";
import type { SqliteDb } from "./sqlite-db.ts";
import { type Params, params, type Row } from "./sqlite-rows.ts";

/**
 * The vault rules' records in the SQLite catalog (schema version 2): backup policies and vault
 * settings, their row mapping, and the operations `SqliteCatalog` delegates to. Both are versioned
 * and every write is conditional on the stored version; the check and the write share one
 * `BEGIN IMMEDIATE` transaction, so no other connection can write in between.
 */

const SQL = {
  policy: "SELECT * FROM policies WHERE vault_id = $vault_id AND name = $name",
  policies: "SELECT * FROM policies WHERE vault_id = $vault_id ORDER BY name",
  insertPolicy: "INSERT INTO policies VALUES ($vault_id, $name, $version, $created, $updated, $definition)",
  updatePolicy: `UPDATE policies SET version = $version, created = $created, updated = $updated,
    definition = $definition WHERE vault_id = $vault_id AND name = $name`,
  /** The vault with its settings, if any were written: no row at all means no such vault. */
  settings: `SELECT settings.* FROM vaults LEFT JOIN settings ON settings.vault_id = vaults.id
    WHERE vaults.id = $vault_id`,
  upsertSettings: `INSERT INTO settings VALUES ($vault_id, $soft_delete_days, $soft_delete_enabled,
    $soft_delete_always_on, $lock, $version, $restore_directories) ON CONFLICT (vault_id) DO UPDATE SET
    soft_delete_days = excluded.soft_delete_days, soft_delete_enabled = excluded.soft_delete_enabled,
    soft_delete_always_on = excluded.soft_delete_always_on, lock = excluded.lock,
    version = excluded.version, restore_directories = excluded.restore_directories`,
} as const;

/**
 * Creates (`expectedVersion` null) or conditionally replaces a policy, as the Catalog port
 * specifies. Beyond the port, `policy.version` must be the next version (1 for a new policy):
 * any other value would let two writers that read the same version both pass the check later.
 */
export function putPolicy(db: SqliteDb, policy: PolicyRecord, expectedVersion: number | null): void {
  const what = `put policy ${policy.name} of vault ${policy.vaultId}`;
  checkNewVersion(what, policy.version, expectedVersion === null ? 1 : nextVersion(what, expectedVersion));
  // Built before the transaction: a malformed definition is refused without taking the lock.
  const row = policyParams(policy);
  db.transaction(what, () => {
    // The key from `row`: a missing name is bound as NULL and fails the INSERT's NOT NULL check.
    const stored = db.get(what, SQL.policy, { vault_id: row.vault_id!, name: row.name! });
    const storedVersion = stored?.version as number | undefined;
    if (expectedVersion === null) {
      if (storedVersion !== undefined) {
        throw new AlreadyExistsError(
          `${what}: policy ${policy.name} already exists (version ${storedVersion})`,
        );
      }
      db.run(what, SQL.insertPolicy, row);
      return;
    }
    if (storedVersion === undefined) throw new NotFoundError(`${what}: policy ${policy.name} not found`);
    if (storedVersion !== expectedVersion) {
      throw new ConflictError(`${what}: expected version ${expectedVersion}, but it is ${storedVersion}`);
    }
    db.run(what, SQL.updatePolicy, row);
  });
}

/** Deletes the policy if its stored version is `expectedVersion`, as the Catalog port specifies. */
export function deletePolicy(db: SqliteDb, vaultId: string, name: string, expectedVersion: number): void {
  const what = `delete policy ${name} of vault ${vaultId}`;
  db.transaction(what, () => {
    const stored = db.get(what, SQL.policy, { vault_id: vaultId, name });
    if (stored === undefined) throw new NotFoundError(`${what}: policy ${name} not found`);
    if (stored.version !== expectedVersion) {
      throw new ConflictError(
        `${what}: expected version ${expectedVersion}, but it is ${String(stored.version)}`,
      );
    }
    db.run(what, "DELETE FROM policies WHERE vault_id = $vault_id AND name = $name", {
      vault_id: vaultId,
      name,
    });
  });
}

/** The policy `name` of the vault; `NotFoundError` naming it when there is none. */
export function getPolicy(db: SqliteDb, vaultId: string, name: string): PolicyRecord {
  return policyFromRow(db.one(`policy ${name} in vault ${vaultId}`, SQL.policy, { vault_id: vaultId, name }));
}

/** The vault's policies, by name. */
export function listPolicies(db: SqliteDb, vaultId: string): PolicyRecord[] {
  return db.all(`list policies of vault ${vaultId}`, SQL.policies, { vault_id: vaultId }).map(policyFromRow);
}

/** The vault's stored settings, or its defaults (version 0); `NotFoundError` when there is no vault. */
export function getSettings(db: SqliteDb, vaultId: string): VaultSettings {
  const row = db.one(`vault ${vaultId}`, SQL.settings, { vault_id: vaultId });
  // The LEFT JOIN leaves the settings columns NULL when none were ever written.
  return row.version === null ? defaultSettings(vaultId) : settingsFromRow(row);
}

/**
 * Writes the vault's settings if the stored version (0 when none) is `expectedVersion`. Beyond the
 * port, `settings.version` must be `expectedVersion + 1`, for the reason given at {@link putPolicy}.
 */
export function putSettings(db: SqliteDb, settings: VaultSettings, expectedVersion: number): void {
  const what = `put settings of vault ${settings.vaultId}`;
  checkNewVersion(what, settings.version, nextVersion(what, expectedVersion));
  if (typeof settings.vaultId !== "string") throw new ValidationError(`${what}: vaultId must be a string`);
  const row = settingsParams(settings);
  db.transaction(what, () => {
    const stored = getSettings(db, settings.vaultId).version;
    if (stored !== expectedVersion) {
      throw new ConflictError(`${what}: expected version ${expectedVersion}, but it is ${stored}`);
    }
    db.run(what, SQL.upsertSettings, row);
  });
}

/** The version a write conditional on `expected` must carry; `ValidationError` if `expected` is no count. */
function nextVersion(what: string, expected: unknown): number {
  if (typeof expected !== "number" || !Number.isSafeInteger(expected) || expected < 0) {
    throw new ValidationError(
      `${what}: the expected version must be an integer >= 0, got ${String(expected)}`,
    );
  }
  return expected + 1;
}

function checkNewVersion(what: string, version: unknown, next: number): void {
  if (version !== next) {
    throw new ValidationError(`${what}: the new version must be ${next}, got ${String(version)}`);
  }
}

/**
 * Row parameters of a policy; `definition` is stored as JSON text, so it must be a JSON object
 * (anything else, or something `JSON.stringify` refuses, is a `ValidationError`).
 */
function policyParams(p: PolicyRecord): Params {
  const what = `policy ${p.name} of vault ${p.vaultId}`;
  const { definition } = p;
  if (typeof definition !== "object" || definition === null || Array.isArray(definition)) {
    throw new ValidationError(`${what}: the definition must be a JSON object`);
  }
  let json: string;
  try {
    json = JSON.stringify(definition);
  } catch (err) {
    // A cycle or a bigint: the definition is not JSON.
    throw new ValidationError(`${what}: the definition is not JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
  return params({
    vault_id: p.vaultId,
    name: p.name,
    version: p.version,
    created: p.created,
    updated: p.updated,
    definition: json,
  });
}

function policyFromRow(row: Row): PolicyRecord {
  let definition: PolicyRecord["definition"];
  try {
    definition = JSON.parse(row.definition as string);
  } catch (err) {
    // Only a damaged database (or a foreign writer) holds a definition that is not JSON.
    throw new IntegrityError(`policy ${String(row.name)}: the stored definition is not JSON`, { cause: err });
  }
  return {
    vaultId: row.vault_id as string,
    name: row.name as string,
    version: row.version as number,
    created: row.created as number,
    updated: row.updated as number,
    definition,
  };
}

/** 1 or 0 for a boolean; `undefined` stays so, to fail its NOT NULL constraint like a missing field. */
function flag(what: string, field: string, value: unknown): SQLInputValue | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") throw new ValidationError(`${what}: ${field} must be a boolean`);
  return value ? 1 : 0;
}

/** Row parameters of a vault's settings; SQLite has no booleans, so the flags are stored as 0 or 1. */
function settingsParams(s: VaultSettings): Params {
  const what = `settings of vault ${s.vaultId}`;
  return params({
    vault_id: s.vaultId,
    soft_delete_days: s.softDeleteDays,
    soft_delete_enabled: flag(what, "softDeleteEnabled", s.softDeleteEnabled),
    soft_delete_always_on: flag(what, "softDeleteAlwaysOn", s.softDeleteAlwaysOn),
    lock: s.lock,
    version: s.version,
    restore_directories: directories(what, s.restoreDirectories),
  });
}

/** The restore directories as JSON text: a list of strings, or a `ValidationError`. */
function directories(what: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((d) => typeof d !== "string"))
    throw new ValidationError(`${what}: restoreDirectories must be a list of paths`);
  return JSON.stringify(value);
}

function settingsFromRow(row: Row): VaultSettings {
  return {
    vaultId: row.vault_id as string,
    softDeleteDays: row.soft_delete_days as number,
    softDeleteEnabled: row.soft_delete_enabled === 1,
    softDeleteAlwaysOn: row.soft_delete_always_on === 1,
    lock: enumField(LockState, `settings of vault ${String(row.vault_id)}`, "lock", row.lock),
    version: row.version as number,
    restoreDirectories: JSON.parse(row.restore_directories as string) as string[],
  };
}

/** The operations of the `PolicyCatalog` port. */
export const policyOps = { putPolicy, getPolicy, listPolicies, deletePolicy } as const;
/** The operations of the `SettingsCatalog` port. */
export const settingsOps = { getSettings, putSettings } as const;

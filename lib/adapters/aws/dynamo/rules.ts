import { AlreadyExistsError, ConflictError, NotFoundError } from "../../../errors.ts";
import { defaultSettings, LockState, type PolicyRecord, type VaultSettings } from "../../../model.ts";
import { checkInt, checkOneOf, checkText, objectJson, parseJson, pick, refuse } from "./codec.ts";
import { itemKey, SK, vaultPk } from "./keys.ts";
import type { Item, Op } from "./ops.ts";
import type { DynamoTable } from "./store.ts";
import { NOT_EXISTS, writeInVault } from "./vaults.ts";

/**
 * The vault rules' records in the DynamoDB catalog: backup policies and vault settings. Both are
 * versioned, and every write is a single conditional put on the stored version (in a transaction
 * with the check that the vault exists), so of two writers that read the same version one wins.
 */

const policyKey = (vaultId: string, name: string) => itemKey(vaultId, SK.policy + name);
const VERSION = { "#v": "version" };

/**
 * Creates (`expectedVersion` null) or conditionally replaces a policy, as the Catalog port
 * specifies. Beyond the port, `policy.version` must be the next version (1 for a new policy), as
 * in the SQLite catalog, and a malformed record is a `ValidationError`.
 */
export async function putPolicy(
  table: DynamoTable,
  policy: PolicyRecord,
  expectedVersion: number | null,
): Promise<void> {
  const what = `put policy ${String(policy.name)} of vault ${String(policy.vaultId)}`;
  checkNewVersion(what, policy.version, expectedVersion === null ? 1 : nextVersion(what, expectedVersion));
  const item = policyItem(what, policy);
  const op: Op =
    expectedVersion === null
      ? { put: item, condition: NOT_EXISTS }
      : { put: item, condition: "#v = :v", names: VERSION, values: { ":v": expectedVersion } };
  await writeInVault(table, policy.vaultId, op, what, async () => {
    if (expectedVersion === null)
      return new AlreadyExistsError(`${what}: policy ${policy.name} already exists`);
    const stored = await table.get(policyKey(policy.vaultId, policy.name), what);
    if (stored === undefined) return new NotFoundError(`${what}: policy ${policy.name} not found`);
    return new ConflictError(
      `${what}: expected version ${expectedVersion}, but it is ${String(stored.version)}`,
    );
  });
}

/** Deletes the policy if its stored version is `expectedVersion`, as the Catalog port specifies. */
export async function deletePolicy(
  table: DynamoTable,
  vaultId: string,
  name: string,
  expectedVersion: number,
): Promise<void> {
  const what = `delete policy ${name} of vault ${vaultId}`;
  const op: Op = {
    delete: policyKey(vaultId, name),
    condition: "#v = :v",
    names: VERSION,
    values: { ":v": expectedVersion },
  };
  await writeInVault(table, vaultId, op, what, async () => {
    const stored = await table.get(policyKey(vaultId, name), what);
    if (stored === undefined) return new NotFoundError(`${what}: policy ${name} not found`);
    return new ConflictError(
      `${what}: expected version ${expectedVersion}, but it is ${String(stored.version)}`,
    );
  });
}

export async function getPolicy(table: DynamoTable, vaultId: string, name: string): Promise<PolicyRecord> {
  const item = await table.get(policyKey(vaultId, name), `get policy ${name} of vault ${vaultId}`);
  if (item === undefined) throw new NotFoundError(`policy ${name} in vault ${vaultId} not found`);
  return policyFromItem(item);
}

/** The vault's policies by name: the sort key's order, UTF-8 bytes, as SQLite's BINARY collation. */
export async function listPolicies(table: DynamoTable, vaultId: string): Promise<PolicyRecord[]> {
  const items = await table.query(
    {
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": vaultPk(vaultId), ":prefix": SK.policy },
    },
    `list policies of vault ${vaultId}`,
  );
  return items.map(policyFromItem);
}

/** The vault's stored settings, or its defaults (version 0); `NotFoundError` when there is no vault. */
export async function getSettings(table: DynamoTable, vaultId: string): Promise<VaultSettings> {
  const what = `get settings of vault ${vaultId}`;
  const [vault, stored] = await Promise.all([
    table.get(itemKey(vaultId, SK.vault), what),
    table.get(itemKey(vaultId, SK.settings), what),
  ]);
  if (vault === undefined) throw new NotFoundError(`${what}: vault ${vaultId} not found`);
  if (stored === undefined) return defaultSettings(vaultId);
  // Settings written before restore directories existed have none.
  const settings = pick<VaultSettings>(stored, SETTINGS_FIELDS, ["restoreDirectories"], { lock: LockState });
  return { ...settings, restoreDirectories: settings.restoreDirectories ?? [] };
}

/**
 * Writes the vault's settings if the stored version (0 when none) is `expectedVersion`. Beyond the
 * port, `settings.version` must be `expectedVersion + 1` and a malformed record is a `ValidationError`.
 */
export async function putSettings(
  table: DynamoTable,
  settings: VaultSettings,
  expectedVersion: number,
): Promise<void> {
  const what = `put settings of vault ${String(settings.vaultId)}`;
  checkNewVersion(what, settings.version, nextVersion(what, expectedVersion));
  const item = settingsItem(what, settings);
  const op: Op =
    expectedVersion === 0
      ? { put: item, condition: NOT_EXISTS }
      : { put: item, condition: "#v = :v", names: VERSION, values: { ":v": expectedVersion } };
  await writeInVault(table, settings.vaultId, op, what, async () => {
    const stored = await table.get(itemKey(settings.vaultId, SK.settings), what);
    const version = stored === undefined ? 0 : stored.version;
    return new ConflictError(`${what}: expected version ${expectedVersion}, but it is ${String(version)}`);
  });
}

/** The version a write conditional on `expected` must carry; `ValidationError` if `expected` is no count. */
function nextVersion(what: string, expected: unknown): number {
  if (!Number.isSafeInteger(expected) || (expected as number) < 0) {
    refuse(what, `the expected version must be an integer >= 0, got ${String(expected)}`);
  }
  return (expected as number) + 1;
}

function checkNewVersion(what: string, version: unknown, next: number): void {
  if (version !== next) refuse(what, `the new version must be ${next}, got ${String(version)}`);
}

const POLICY_FIELDS = ["vaultId", "name", "version", "created", "updated", "definition"];

/** The item of a policy; its definition as JSON text. */
function policyItem(what: string, p: PolicyRecord): Item {
  checkText(what, "vaultId", p.vaultId);
  checkText(what, "name", p.name);
  checkInt(what, "created", p.created);
  checkInt(what, "updated", p.updated);
  const definition = objectJson(what, "definition", p.definition);
  const { vaultId, name, version, created, updated } = p;
  return {
    ...policyKey(vaultId, name),
    kind: "policy",
    vaultId,
    name,
    version,
    created,
    updated,
    definition,
  };
}

function policyFromItem(item: Item): PolicyRecord {
  const policy = pick<PolicyRecord>(item, POLICY_FIELDS, []);
  return { ...policy, definition: parseJson(`policy ${policy.name}`, policy.definition) };
}

const SETTINGS_FIELDS = [
  "vaultId",
  "softDeleteDays",
  "softDeleteEnabled",
  "softDeleteAlwaysOn",
  "lock",
  "version",
];

/** The item of a vault's settings; the flags are DynamoDB booleans. */
function settingsItem(what: string, s: VaultSettings): Item {
  checkText(what, "vaultId", s.vaultId);
  checkInt(what, "softDeleteDays", s.softDeleteDays);
  for (const flag of ["softDeleteEnabled", "softDeleteAlwaysOn"] as const) {
    if (typeof s[flag] !== "boolean") refuse(what, `${flag} must be a boolean`);
  }
  checkOneOf(what, "lock", s.lock, LockState);
  const dirs = s.restoreDirectories as unknown;
  if (!Array.isArray(dirs) || dirs.some((d) => typeof d !== "string"))
    refuse(what, "restoreDirectories must be a list of paths");
  const { vaultId, softDeleteDays, softDeleteEnabled, softDeleteAlwaysOn, lock, version } = s;
  return {
    ...itemKey(vaultId, SK.settings),
    kind: "settings",
    ...{ vaultId, softDeleteDays, softDeleteEnabled, softDeleteAlwaysOn, lock, version },
    // A DynamoDB list (an empty one is allowed); items written before it existed have none.
    restoreDirectories: [...s.restoreDirectories],
  };
}

/** The operations of the `PolicyCatalog` port. */
export const policyOps = { putPolicy, getPolicy, listPolicies, deletePolicy } as const;
/** The operations of the `SettingsCatalog` port. */
export const settingsOps = { getSettings, putSettings } as const;

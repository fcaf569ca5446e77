import type { DiskRecord, VaultRecord } from "../../model.ts";
import type { SqliteDb } from "./sqlite-db.ts";
import { diskFromRow, diskParams, vaultFromRow, vaultParams } from "./sqlite-rows.ts";
import { SQL } from "./sqlite-schema.ts";

/** `VaultCatalog` on SQLite: a vault id is the primary key, so a second create fails. */
export function createVault(db: SqliteDb, vault: VaultRecord): void {
  db.run(`create vault ${vault.id}`, SQL.insertVault, vaultParams(vault));
}

export function getVault(db: SqliteDb, id: string): VaultRecord {
  return vaultFromRow(db.one(`vault ${id}`, "SELECT * FROM vaults WHERE id = $id", { id }));
}

/** `DiskCatalog` on SQLite: an upsert, so putting a disk twice is harmless. */
export function putDisk(db: SqliteDb, disk: DiskRecord): void {
  db.run(`put disk ${disk.name}`, SQL.upsertDisk, diskParams(disk));
}

export function getDisk(db: SqliteDb, vaultId: string, name: string): DiskRecord {
  const sql = "SELECT * FROM disks WHERE vault_id = $vault_id AND name = $name";
  return diskFromRow(db.one(`disk ${name} in vault ${vaultId}`, sql, { vault_id: vaultId, name }));
}

export function listDisks(db: SqliteDb, vaultId: string): DiskRecord[] {
  const sql = "SELECT * FROM disks WHERE vault_id = $vault_id ORDER BY name";
  return db.all(`list disks of vault ${vaultId}`, sql, { vault_id: vaultId }).map(diskFromRow);
}

/** The operations of the `VaultCatalog` port. */
export const vaultOps = { createVault, getVault } as const;
/** The operations of the `DiskCatalog` port. */
export const diskOps = { putDisk, getDisk, listDisks } as const;

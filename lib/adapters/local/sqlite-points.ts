import { AlreadyExistsError, ConflictError } from "../../errors.ts";
import type { RecoveryPointRecord } from "../../model.ts";
import type { RecoveryPointChanges } from "../../ports/catalog.ts";
import type { SqliteDb } from "./sqlite-db.ts";
import { mergeChanges, type Params, pointFromRow, pointParams } from "./sqlite-rows.ts";
import { SQL } from "./sqlite-schema.ts";

const POINT_FIELDS = ["tier", "state", "deleteAfter", "retainUntil"];

/**
 * Commits a backup's point in one `BEGIN IMMEDIATE` transaction: the id check, the parent
 * check, the insert and the disk's new size, so a writer in another process cannot slip in.
 */
export function commitRecoveryPoint(
  db: SqliteDb,
  point: RecoveryPointRecord,
  expectedParent: string | null,
): void {
  const what = `commit recovery point ${point.id} of disk ${point.disk}`;
  db.transaction(what, () => {
    // The id check comes first so that a retried commit which already landed says so.
    const sql = "SELECT 1 FROM recovery_points WHERE vault_id = $vault_id AND id = $id";
    if (db.get(what, sql, { vault_id: point.vaultId, id: point.id }) !== undefined) {
      throw new AlreadyExistsError(`${what}: recovery point ${point.id} already exists`);
    }
    const latest = db.get(what, SQL.newestAvailablePoint, { vault_id: point.vaultId, disk: point.disk });
    const latestId = (latest?.id as string | undefined) ?? null;
    if (latestId !== expectedParent) {
      throw new ConflictError(
        `${what}: expected the disk's latest available point to be ${expectedParent ?? "none"}, but it is ${latestId ?? "none"}`,
      );
    }
    db.run(what, SQL.insertPoint, pointParams(point));
    db.run(what, SQL.updateDiskSize, { size: point.logicalSize, vault_id: point.vaultId, name: point.disk });
  });
}

export function getRecoveryPoint(db: SqliteDb, vaultId: string, id: string): RecoveryPointRecord {
  return pointFromRow(
    db.one(`recovery point ${id} in vault ${vaultId}`, SQL.point, { vault_id: vaultId, id }),
  );
}

export function listRecoveryPoints(db: SqliteDb, vaultId: string, disk?: string): RecoveryPointRecord[] {
  const byDisk = disk === undefined ? "" : "AND disk = $disk";
  const sql = `SELECT * FROM recovery_points WHERE vault_id = $vault_id ${byDisk} ORDER BY created DESC, seq DESC`;
  const params: Params = disk === undefined ? { vault_id: vaultId } : { vault_id: vaultId, disk };
  return db.all(`list recovery points of vault ${vaultId}`, sql, params).map(pointFromRow);
}

export function latestRecoveryPoint(
  db: SqliteDb,
  vaultId: string,
  disk: string,
): RecoveryPointRecord | undefined {
  const row = db.get(`find the latest point of disk ${disk}`, SQL.newestAvailablePoint, {
    vault_id: vaultId,
    disk,
  });
  return row === undefined ? undefined : pointFromRow(row);
}

export function updateRecoveryPoint(
  db: SqliteDb,
  vaultId: string,
  id: string,
  changes: RecoveryPointChanges,
): RecoveryPointRecord {
  const what = `update recovery point ${id}`;
  return db.transaction(what, () => {
    const existing = getRecoveryPoint(db, vaultId, id);
    const updated = mergeChanges(what, existing, changes, POINT_FIELDS, ["tier", "state"]);
    db.run(what, SQL.updatePoint, pointParams(updated));
    return updated;
  });
}

/** The operations of the `PointCatalog` port. */
export const pointOps = {
  commitRecoveryPoint,
  getRecoveryPoint,
  listRecoveryPoints,
  latestRecoveryPoint,
  updateRecoveryPoint,
} as const;

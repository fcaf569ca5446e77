import { AlreadyExistsError, ConflictError, ValidationError } from "../../errors.ts";
import type { VmPointRecord, VmRecord } from "../../model.ts";
import type { VmDiskCommit, VmPointChanges } from "../../ports/catalog.ts";
import type { SqliteDb } from "./sqlite-db.ts";
import { mergeChanges, type Params, pointParams } from "./sqlite-rows.ts";
import { SQL } from "./sqlite-schema.ts";
import { vmFromRow, vmPointFromRow, vmPointParams } from "./sqlite-vm-rows.ts";

/** Protected VMs and VM recovery points in the SQLite catalog (schema version 8). */

const VM_POINT = "SELECT * FROM vm_points WHERE vault_id = $vault_id AND id = $id";
const VM_POINT_DISKS =
  "SELECT point FROM vm_point_disks WHERE vault_id = $vault_id AND vm_point = $vm_point ORDER BY position";

/** Creates or replaces a VM; its definition is stored as JSON. */
export function putVm(db: SqliteDb, vm: VmRecord): void {
  const { vaultId, name, created, ...definition } = vm;
  db.run(
    `put VM ${name}`,
    `INSERT INTO vms VALUES ($vault_id, $name, $created, $definition)
     ON CONFLICT (vault_id, name) DO UPDATE SET created = excluded.created, definition = excluded.definition`,
    { vault_id: vaultId, name, created, definition: JSON.stringify(definition) },
  );
}

export function getVm(db: SqliteDb, vaultId: string, name: string): VmRecord {
  const sql = "SELECT * FROM vms WHERE vault_id = $vault_id AND name = $name";
  return vmFromRow(db.one(`VM ${name} in vault ${vaultId}`, sql, { vault_id: vaultId, name }));
}

export function listVms(db: SqliteDb, vaultId: string): VmRecord[] {
  const sql = "SELECT * FROM vms WHERE vault_id = $vault_id ORDER BY name";
  return db.all(`list VMs of vault ${vaultId}`, sql, { vault_id: vaultId }).map(vmFromRow);
}

/**
 * Commits a VM point and its disks' points in one `BEGIN IMMEDIATE` transaction: every id check
 * first, then every disk's parent check, then the inserts and the disks' sizes. A failed check
 * throws inside the transaction, which rolls back: nothing of the VM point is written.
 */
export function commitVmPoint(db: SqliteDb, vmPoint: VmPointRecord, disks: readonly VmDiskCommit[]): void {
  const what = `commit VM point ${vmPoint.id} of VM ${vmPoint.vm}`;
  checkCommit(what, vmPoint, disks);
  db.transaction(what, () => {
    const vault_id = vmPoint.vaultId;
    if (db.get(what, VM_POINT, { vault_id, id: vmPoint.id }) !== undefined) {
      throw new AlreadyExistsError(`${what}: VM point ${vmPoint.id} already exists`);
    }
    for (const { point } of disks) {
      if (db.get(what, SQL.point, { vault_id, id: point.id }) !== undefined) {
        throw new AlreadyExistsError(`${what}: recovery point ${point.id} already exists`);
      }
    }
    for (const { point, expectedParent } of disks) {
      const latest = db.get(what, SQL.newestAvailablePoint, { vault_id, disk: point.disk });
      const latestId = (latest?.id as string | undefined) ?? null;
      if (latestId !== expectedParent) {
        throw new ConflictError(
          `${what}: expected disk ${point.disk}'s latest available point to be ${expectedParent ?? "none"}, but it is ${latestId ?? "none"}`,
        );
      }
    }
    db.run(what, SQL.insertVmPoint, vmPointParams(vmPoint));
    disks.forEach(({ point }, position) => {
      db.run(what, SQL.insertPoint, pointParams(point));
      db.run(what, SQL.updateDiskSize, { size: point.logicalSize, vault_id, name: point.disk });
      db.run(what, "INSERT INTO vm_point_disks VALUES ($vault_id, $point, $vm_point, $position)", {
        vault_id,
        point: point.id,
        vm_point: vmPoint.id,
        position,
      });
    });
  });
}

/** The commit's own consistency: the VM point lists exactly its disks' points, all of one vault. */
function checkCommit(what: string, vmPoint: VmPointRecord, disks: readonly VmDiskCommit[]): void {
  if (disks.length === 0) throw new ValidationError(`${what}: a VM point needs at least one disk point`);
  const ids = disks.map((d) => d.point.id);
  if (ids.length !== vmPoint.points.length || ids.some((id, i) => vmPoint.points[i] !== id)) {
    throw new ValidationError(`${what}: the VM point must list its disks' points in order`);
  }
  if (new Set(ids).size !== ids.length) throw new ValidationError(`${what}: a disk point is listed twice`);
  const foreign = disks.find((d) => d.point.vaultId !== vmPoint.vaultId);
  if (foreign) throw new ValidationError(`${what}: point ${foreign.point.id} is of another vault`);
}

export function getVmPoint(db: SqliteDb, vaultId: string, id: string): VmPointRecord {
  const row = db.one(`VM point ${id} in vault ${vaultId}`, VM_POINT, { vault_id: vaultId, id });
  return withPoints(db, vmPointFromRow(row));
}

export function listVmPoints(db: SqliteDb, vaultId: string, vm?: string): VmPointRecord[] {
  const byVm = vm === undefined ? "" : "AND vm = $vm";
  const sql = `SELECT * FROM vm_points WHERE vault_id = $vault_id ${byVm} ORDER BY created DESC, seq DESC`;
  const params: Params = vm === undefined ? { vault_id: vaultId } : { vault_id: vaultId, vm };
  return db
    .all(`list VM points of vault ${vaultId}`, sql, params)
    .map((r) => withPoints(db, vmPointFromRow(r)));
}

export function vmPointOf(db: SqliteDb, vaultId: string, pointId: string): string | undefined {
  const sql = "SELECT vm_point FROM vm_point_disks WHERE vault_id = $vault_id AND point = $point";
  const row = db.get(`find the VM point of point ${pointId}`, sql, { vault_id: vaultId, point: pointId });
  return row === undefined ? undefined : (row.vm_point as string);
}

export function updateVmPoint(
  db: SqliteDb,
  vaultId: string,
  id: string,
  changes: VmPointChanges,
): VmPointRecord {
  const what = `update VM point ${id}`;
  return db.transaction(what, () => {
    const existing = getVmPoint(db, vaultId, id);
    const updated = mergeChanges(what, existing, changes, ["state", "deleteAfter"], ["state"]);
    db.run(
      what,
      "UPDATE vm_points SET state = $state, delete_after = $delete_after WHERE vault_id = $vault_id AND id = $id",
      { state: updated.state, delete_after: updated.deleteAfter ?? null, vault_id: vaultId, id },
    );
    return updated;
  });
}

function withPoints(db: SqliteDb, partial: Omit<VmPointRecord, "points">): VmPointRecord {
  const rows = db.all(`list the disks of VM point ${partial.id}`, VM_POINT_DISKS, {
    vault_id: partial.vaultId,
    vm_point: partial.id,
  });
  return { ...partial, points: rows.map((r) => r.point as string) };
}

/** The operations of the `VmCatalog` port. */
export const vmOps = {
  putVm,
  getVm,
  listVms,
  commitVmPoint,
  getVmPoint,
  listVmPoints,
  vmPointOf,
  updateVmPoint,
} as const;

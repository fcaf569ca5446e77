import { Consistency, PointState, type VmPointRecord, type VmRecord } from "../../model.ts";
import { enumField } from "../../util/enum-field.ts";
import type { Params, Row } from "./sqlite-rows.ts";

/** Conversions between VM records and SQLite rows (see sqlite-rows.ts for the conventions). */

/** The VM stored in `row`: its definition column holds every field but the key and `created`. */
export function vmFromRow(row: Row): VmRecord {
  const definition = JSON.parse(row.definition as string) as Omit<VmRecord, "vaultId" | "name" | "created">;
  return {
    vaultId: row.vault_id as string,
    name: row.name as string,
    created: row.created as number,
    ...definition,
  };
}

/** Row parameters of a VM point; its disk points go to `vm_point_disks`. */
export function vmPointParams(p: VmPointRecord): Params {
  return {
    vault_id: p.vaultId,
    id: p.id,
    vm: p.vm,
    created: p.created,
    consistency: p.consistency,
    consistency_reason: p.consistencyReason ?? null,
    state: p.state,
    job: p.job,
    delete_after: p.deleteAfter ?? null,
    layout: JSON.stringify({ disks: p.disks, bootDisk: p.bootDisk }),
  };
}

/** The VM point stored in `row`, without its disk points (read from `vm_point_disks`). */
export function vmPointFromRow(row: Row): Omit<VmPointRecord, "points"> {
  const layout = JSON.parse(row.layout as string) as Pick<VmPointRecord, "disks" | "bootDisk">;
  return {
    id: row.id as string,
    vaultId: row.vault_id as string,
    vm: row.vm as string,
    created: row.created as number,
    consistency: enumField(Consistency, `VM point ${String(row.id)}`, "consistency", row.consistency),
    ...(row.consistency_reason !== null ? { consistencyReason: row.consistency_reason as string } : {}),
    state: enumField(PointState, `VM point ${String(row.id)}`, "state", row.state),
    job: row.job as string,
    disks: layout.disks,
    bootDisk: layout.bootDisk,
    ...(row.delete_after !== null ? { deleteAfter: row.delete_after as number } : {}),
  };
}

import { Consistency, PointState, type VmPointRecord, type VmRecord } from "../../../model.ts";
import { checkInt, checkOneOf, checkText, optional, parseJson, refuse } from "./codec.ts";
import { itemKey, order, part, SK } from "./keys.ts";
import type { Item } from "./ops.ts";

/**
 * VMs and VM points as table items. A VM keeps its definition as JSON text; a VM point keeps its
 * disk layout as JSON text and, like a recovery point, a commit `ticket`, a revision `rev` and
 * the LSI values of its listings: `lsi1` `VT#<order>` (all VM points by time), `lsi2`
 * `VP#<vm>#<order>` (one VM's). Each disk point of a VM point has a link item `VMPD#<point>`.
 */

/** The item of VM `vm`; `ValidationError` when a key field is missing or mistyped. */
export function vmItem(vm: VmRecord): Item {
  const what = `VM ${String(vm.name)} of vault ${String(vm.vaultId)}`;
  checkText(what, "vaultId", vm.vaultId);
  checkText(what, "name", vm.name, true);
  checkInt(what, "created", vm.created);
  if (!Array.isArray(vm.disks) || vm.disks.length === 0) refuse(what, "disks must be a non-empty list");
  const { vaultId, name, created, ...definition } = vm;
  return {
    ...itemKey(vaultId, SK.vm + name),
    kind: "vm",
    vaultId,
    name,
    created,
    definition: JSON.stringify(definition),
  };
}

export function vmFromItem(item: Item): VmRecord {
  const definition = parseJson(`VM ${String(item.name)}`, item.definition) as unknown as Omit<
    VmRecord,
    "vaultId" | "name" | "created"
  >;
  return {
    vaultId: item.vaultId as string,
    name: item.name as string,
    created: item.created as number,
    ...definition,
  };
}

/** Refuses a VM point with a missing or mistyped field (`ValidationError`). */
export function checkVmPoint(what: string, p: VmPointRecord): void {
  for (const name of ["id", "vaultId", "vm", "job"] as const) checkText(what, name, p[name]);
  checkInt(what, "created", p.created);
  checkInt(what, "bootDisk", p.bootDisk);
  checkOneOf(what, "consistency", p.consistency, Consistency);
  checkOneOf(what, "state", p.state, PointState);
  optional(p.consistencyReason, (v) => checkText(what, "consistencyReason", v));
  optional(p.deleteAfter, (v) => checkInt(what, "deleteAfter", v));
}

/** The item of VM point `p`, without its `points` (those are the link items). */
export function vmPointItem(p: VmPointRecord, book: { ticket: number; rev: number }): Item {
  const ord = order(p.created, book.ticket);
  return {
    ...itemKey(p.vaultId, SK.vmPoint + p.id),
    kind: "vm-point",
    ...book,
    lsi1: `VT#${ord}`,
    lsi2: `VP#${part(p.vm)}#${ord}`,
    id: p.id,
    vaultId: p.vaultId,
    vm: p.vm,
    created: p.created,
    consistency: p.consistency,
    ...(p.consistencyReason !== undefined ? { consistencyReason: p.consistencyReason } : {}),
    state: p.state,
    job: p.job,
    points: JSON.stringify(p.points),
    layout: JSON.stringify({ disks: p.disks, bootDisk: p.bootDisk }),
    ...(p.deleteAfter !== undefined ? { deleteAfter: p.deleteAfter } : {}),
  };
}

export function vmPointFromItem(item: Item): VmPointRecord {
  const what = `VM point ${String(item.id)}`;
  const layout = parseJson(what, item.layout) as unknown as Pick<VmPointRecord, "disks" | "bootDisk">;
  return {
    id: item.id as string,
    vaultId: item.vaultId as string,
    vm: item.vm as string,
    created: item.created as number,
    points: parseJson(what, item.points) as unknown as string[],
    consistency: item.consistency as Consistency,
    ...(item.consistencyReason !== undefined ? { consistencyReason: item.consistencyReason as string } : {}),
    state: item.state as PointState,
    job: item.job as string,
    disks: layout.disks,
    bootDisk: layout.bootDisk,
    ...(item.deleteAfter !== undefined ? { deleteAfter: item.deleteAfter as number } : {}),
  };
}

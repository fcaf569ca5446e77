import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from "../../../errors.ts";
import { PointState, type VmPointRecord, type VmRecord } from "../../../model.ts";
import type { VmDiskCommit, VmPointChanges } from "../../../ports/catalog.ts";
import { merge } from "./codec.ts";
import { becomesAvailable, type Head, headOp, pointOrder, readHead } from "./heads.ts";
import { INDEX, itemKey, part, SK, vaultPk } from "./keys.ts";
import type { Item, Op } from "./ops.ts";
import { checkPoint, pointItem } from "./records.ts";
import { AGAIN, untilSettled } from "./retry.ts";
import type { DynamoTable } from "./store.ts";
import { NOT_EXISTS, nextTicket, vaultExists, writeInVault } from "./vaults.ts";
import { checkVmPoint, vmFromItem, vmItem, vmPointFromItem, vmPointItem } from "./vm-records.ts";

/** Protected VMs and VM recovery points in the DynamoDB catalog. */

/** Writes per disk in a VM point's transaction: the point, its disk's head and size, its link. */
const OPS_PER_DISK = 4;
/** DynamoDB's limit of actions in one transaction. */
const MAX_TRANSACTION = 100;
/** The most disks one VM point can commit atomically: two actions are the VM point and the vault. */
export const MAX_VM_DISKS = Math.floor((MAX_TRANSACTION - 2) / OPS_PER_DISK);

const vmPointKey = (vaultId: string, id: string) => itemKey(vaultId, SK.vmPoint + id);
const pointKey = (vaultId: string, id: string) => itemKey(vaultId, SK.point + id);
const diskKey = (vaultId: string, disk: string) => itemKey(vaultId, SK.disk + disk);

/** Creates or replaces the VM; `NotFoundError` when its vault does not exist. */
export async function putVm(table: DynamoTable, vm: VmRecord): Promise<void> {
  const what = `put VM ${String(vm.name)} of vault ${String(vm.vaultId)}`;
  if (vm.disks?.length > MAX_VM_DISKS) {
    throw new ValidationError(`${what}: a VM has at most ${MAX_VM_DISKS} disks in this catalog`);
  }
  await writeInVault(table, vm.vaultId, { put: vmItem(vm) }, what);
}

export async function getVm(table: DynamoTable, vaultId: string, name: string): Promise<VmRecord> {
  const item = await table.get(itemKey(vaultId, SK.vm + name), `get VM ${name} of vault ${vaultId}`);
  if (item === undefined) throw new NotFoundError(`VM ${name} in vault ${vaultId} not found`);
  return vmFromItem(item);
}

/** The vault's VMs, by name (the sort key's order). */
export async function listVms(table: DynamoTable, vaultId: string): Promise<VmRecord[]> {
  const items = await table.query(
    {
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": vaultPk(vaultId), ":prefix": SK.vm },
    },
    `list VMs of vault ${vaultId}`,
  );
  return items.map(vmFromItem);
}

/**
 * Commits the VM point and its disks' points in ONE transaction: for each disk its point
 * (create-only), its head (conditional on the version read, moved to the new point), its size
 * (or the check that it is still unregistered) and its link to the VM point; then the VM point
 * (create-only) and the vault's existence. Either all of it lands or none. An existing id is
 * `AlreadyExistsError`, checked before the parents; a head that changed under us is read again.
 */
export async function commitVmPoint(
  table: DynamoTable,
  vmPoint: VmPointRecord,
  disks: readonly VmDiskCommit[],
): Promise<void> {
  const what = `commit VM point ${String(vmPoint.id)} of VM ${String(vmPoint.vm)}`;
  checkCommit(what, vmPoint, disks);
  const { vaultId } = vmPoint;
  const ticket = await nextTicket(table, vaultId, what);
  const items = disks.map(({ point }) => pointItem(point, { ticket, rev: 0 }));
  await untilSettled(what, async () => {
    const heads = await Promise.all(disks.map(({ point }) => readHead(table, vaultId, point.disk, what)));
    const diskItems = await Promise.all(
      disks.map(({ point }) => table.get(diskKey(vaultId, point.disk), what)),
    );
    const stale = disks.findIndex((d, i) => (heads[i]?.point ?? null) !== d.expectedParent);
    if (stale >= 0) {
      await refuseExisting(table, vmPoint, disks, what);
      const d = disks[stale]!;
      throw new ConflictError(
        `${what}: expected disk ${d.point.disk}'s latest available point to be ${d.expectedParent ?? "none"}, but it is ${heads[stale]?.point ?? "none"}`,
      );
    }
    const ops: Op[] = [
      { put: vmPointItem(vmPoint, { ticket, rev: 0 }), condition: NOT_EXISTS },
      vaultExists(vaultId),
      ...disks.flatMap((d, i) => diskOps(vmPoint, d, i, items[i]!, heads[i]!, diskItems[i] === undefined)),
    ];
    const cancelled = await table.transact(ops, what);
    if (cancelled === undefined) return;
    if (cancelled.failed.has(1)) throw new NotFoundError(`${what}: vault ${vaultId} does not exist`);
    const pointPut = (i: number) => 2 + i * OPS_PER_DISK;
    if (cancelled.failed.has(0) || disks.some((_, i) => cancelled.failed.has(pointPut(i)))) {
      await refuseExisting(table, vmPoint, disks, what);
    }
    return AGAIN;
  });
}

/** The four writes of one disk of a VM point (see {@link OPS_PER_DISK}). */
function diskOps(
  vmPoint: VmPointRecord,
  { point }: VmDiskCommit,
  position: number,
  item: Item,
  head: Head,
  unregistered: boolean,
): Op[] {
  const { vaultId } = vmPoint;
  const change =
    point.state === PointState.Available ? becomesAvailable(head, point.id, pointOrder(item, point)) : "keep";
  const size: Op = unregistered
    ? { check: diskKey(vaultId, point.disk), condition: NOT_EXISTS }
    : {
        update: diskKey(vaultId, point.disk),
        expression: "SET #size = :size",
        condition: "attribute_exists(pk)",
        names: { "#size": "size" },
        values: { ":size": point.logicalSize },
      };
  const link: Item = {
    ...itemKey(vaultId, SK.vmPointDisk + point.id),
    kind: "vm-point-disk",
    vmPoint: vmPoint.id,
    position,
  };
  return [
    { put: item, condition: NOT_EXISTS },
    headOp(vaultId, point.disk, head, change),
    size,
    { put: link, condition: NOT_EXISTS },
  ];
}

/** Throws `AlreadyExistsError` when the VM point or one of its disk points exists. */
async function refuseExisting(
  table: DynamoTable,
  vmPoint: VmPointRecord,
  disks: readonly VmDiskCommit[],
  what: string,
): Promise<void> {
  if ((await table.get(vmPointKey(vmPoint.vaultId, vmPoint.id), what)) !== undefined) {
    throw new AlreadyExistsError(`${what}: VM point ${vmPoint.id} already exists`);
  }
  for (const { point } of disks) {
    if ((await table.get(pointKey(point.vaultId, point.id), what)) !== undefined) {
      throw new AlreadyExistsError(`${what}: recovery point ${point.id} already exists`);
    }
  }
}

function checkCommit(what: string, vmPoint: VmPointRecord, disks: readonly VmDiskCommit[]): void {
  checkVmPoint(what, vmPoint);
  if (disks.length === 0) throw new ValidationError(`${what}: a VM point needs at least one disk point`);
  if (disks.length > MAX_VM_DISKS) throw new ValidationError(`${what}: at most ${MAX_VM_DISKS} disks`);
  const ids = disks.map((d) => d.point.id);
  if (ids.length !== vmPoint.points.length || ids.some((id, i) => vmPoint.points[i] !== id)) {
    throw new ValidationError(`${what}: the VM point must list its disks' points in order`);
  }
  if (new Set(ids).size !== ids.length) throw new ValidationError(`${what}: a disk point is listed twice`);
  if (new Set(disks.map((d) => d.point.disk)).size !== disks.length) {
    throw new ValidationError(`${what}: a disk is listed twice`);
  }
  for (const { point } of disks) {
    checkPoint(what, point);
    if (point.vaultId !== vmPoint.vaultId)
      throw new ValidationError(`${what}: point ${point.id} is of another vault`);
  }
}

export async function getVmPoint(table: DynamoTable, vaultId: string, id: string): Promise<VmPointRecord> {
  const item = await table.get(vmPointKey(vaultId, id), `get VM point ${id} of vault ${vaultId}`);
  if (item === undefined) throw new NotFoundError(`VM point ${id} in vault ${vaultId} not found`);
  return vmPointFromItem(item);
}

/** VM points of one VM (`lsi2`) or of the vault (`lsi1`), newest first. */
export async function listVmPoints(
  table: DynamoTable,
  vaultId: string,
  vm?: string,
): Promise<VmPointRecord[]> {
  const [index, prefix] = vm === undefined ? [INDEX.lsi1, "VT#"] : [INDEX.lsi2, `VP#${part(vm)}#`];
  const items = await table.query(
    {
      IndexName: index,
      KeyConditionExpression: `pk = :pk AND begins_with(${index}, :prefix)`,
      ExpressionAttributeValues: { ":pk": vaultPk(vaultId), ":prefix": prefix },
      ScanIndexForward: false,
    },
    `list VM points of vault ${vaultId}`,
  );
  return items.map(vmPointFromItem);
}

export async function vmPointOf(
  table: DynamoTable,
  vaultId: string,
  pointId: string,
): Promise<string | undefined> {
  const item = await table.get(
    itemKey(vaultId, SK.vmPointDisk + pointId),
    `find the VM point of point ${pointId}`,
  );
  return item === undefined ? undefined : (item.vmPoint as string);
}

/** Sets the VM point's state and deletion time, conditional on the revision read. */
export async function updateVmPoint(
  table: DynamoTable,
  vaultId: string,
  id: string,
  changes: VmPointChanges,
): Promise<VmPointRecord> {
  const what = `update VM point ${id} of vault ${vaultId}`;
  return untilSettled(what, async () => {
    const item = await table.get(vmPointKey(vaultId, id), what);
    if (item === undefined) throw new NotFoundError(`${what}: VM point ${id} not found`);
    const updated = merge(what, vmPointFromItem(item), changes, ["state", "deleteAfter"], ["state"]);
    checkVmPoint(what, updated);
    const rev = item.rev as number;
    const next = vmPointItem(updated, { ticket: item.ticket as number, rev: rev + 1 });
    const written = await table.put(next, "#rev = :rev", what, {
      names: { "#rev": "rev" },
      values: { ":rev": rev },
    });
    return written ? updated : AGAIN;
  });
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

import { AlreadyExistsError, BlockvaultError, NotFoundError } from "../../../errors.ts";
import type { DiskRecord, VaultRecord } from "../../../model.ts";
import { itemKey, SK, vaultPk } from "./keys.ts";
import type { Op } from "./ops.ts";
import { diskFromItem, diskItem, vaultFromItem, vaultItem } from "./records.ts";
import { AGAIN, untilSettled } from "./retry.ts";
import type { DynamoTable } from "./store.ts";

/**
 * Vaults and disks in the DynamoDB catalog, and the write every child record shares: one
 * transaction holding the record's write and a ConditionCheck that its vault exists.
 */

/** The condition an item must not exist: a create. */
export const NOT_EXISTS = "attribute_not_exists(pk)";

/** The ConditionCheck that vault `vaultId` exists, inside a child record's transaction. */
export function vaultExists(vaultId: string): Op {
  return { check: itemKey(vaultId, SK.vault), condition: "attribute_exists(pk)" };
}

/**
 * Runs `op` (a write of a record of vault `vaultId`) in one transaction with the check that the
 * vault exists, retrying when another transaction interfered. A missing vault is a
 * `NotFoundError` naming it; a failed condition of `op` is what `refused` makes of it.
 */
export async function writeInVault(
  table: DynamoTable,
  vaultId: string,
  op: Op,
  what: string,
  refused?: () => Promise<Error> | Error,
): Promise<void> {
  await untilSettled(what, async () => {
    const cancelled = await table.transact([op, vaultExists(vaultId)], what);
    if (cancelled === undefined) return;
    if (cancelled.failed.has(1)) throw new NotFoundError(`${what}: vault ${vaultId} does not exist`);
    if (cancelled.failed.has(0)) {
      throw refused === undefined ? new BlockvaultError(`${what}: condition failed`) : await refused();
    }
    return AGAIN;
  });
}

/**
 * The vault's next commit ticket: a number that grows with every call, so a record created after
 * another one's create returned gets a greater one. It orders records of the same millisecond;
 * the tickets of failed creates are simply never used. `NotFoundError` naming the vault when it
 * does not exist (its counter is created with it). One atomic ADD on a counter item of its own,
 * so it never conflicts with the transactions that check the vault item.
 */
export async function nextTicket(table: DynamoTable, vaultId: string, what: string): Promise<number> {
  const updated = await table.update(
    itemKey(vaultId, SK.counter),
    "ADD #n :one",
    "attribute_exists(pk)",
    what,
    {
      names: { "#n": "n" },
      values: { ":one": 1 },
    },
  );
  if (updated === undefined) throw new NotFoundError(`${what}: vault ${vaultId} does not exist`);
  return updated.n as number;
}

/**
 * Creates the vault and its commit-order counter in one transaction; `AlreadyExistsError` when a
 * vault with its id exists.
 */
export async function createVault(table: DynamoTable, vault: VaultRecord): Promise<void> {
  const what = `create vault ${String(vault.id)}`;
  const item = vaultItem(vault);
  await untilSettled(what, async () => {
    const cancelled = await table.transact(
      [
        { put: item, condition: NOT_EXISTS },
        { put: { ...itemKey(vault.id, SK.counter), kind: "counter", n: 0 }, condition: NOT_EXISTS },
      ],
      what,
    );
    if (cancelled === undefined) return;
    if (cancelled.failed.size > 0) throw new AlreadyExistsError(`${what}: vault ${vault.id} already exists`);
    return AGAIN;
  });
}

export async function getVault(table: DynamoTable, id: string): Promise<VaultRecord> {
  const item = await table.get(itemKey(id, SK.vault), `get vault ${id}`);
  if (item === undefined) throw new NotFoundError(`vault ${id} not found`);
  return vaultFromItem(item);
}

/** Creates or replaces the disk; `NotFoundError` when its vault does not exist. */
export async function putDisk(table: DynamoTable, disk: DiskRecord): Promise<void> {
  const what = `put disk ${String(disk.name)} of vault ${String(disk.vaultId)}`;
  await writeInVault(table, disk.vaultId, { put: diskItem(disk) }, what);
}

export async function getDisk(table: DynamoTable, vaultId: string, name: string): Promise<DiskRecord> {
  const item = await table.get(itemKey(vaultId, SK.disk + name), `get disk ${name} of vault ${vaultId}`);
  if (item === undefined) throw new NotFoundError(`disk ${name} in vault ${vaultId} not found`);
  return diskFromItem(item);
}

/** The vault's disks (by name, which the port leaves open). */
export async function listDisks(table: DynamoTable, vaultId: string): Promise<DiskRecord[]> {
  const items = await table.query(
    {
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": vaultPk(vaultId), ":prefix": SK.disk },
    },
    `list disks of vault ${vaultId}`,
  );
  return items.map(diskFromItem);
}

/** The operations of the `VaultCatalog` port. */
export const vaultOps = { createVault, getVault } as const;
/** The operations of the `DiskCatalog` port. */
export const diskOps = { putDisk, getDisk, listDisks } as const;

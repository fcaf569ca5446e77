/**
 * The key schema of the catalog's single DynamoDB table (see "DynamoDB catalog" in docs/design.md).
 *
 * Every item of a vault shares the partition key `V#<vault id>`, so every access pattern of the
 * port is a Query (or a GetItem) inside one partition, never a Scan. The sort key `sk` names the
 * item (`POINT#<id>`, `JOB#<id>`, …). Orderings other than `sk`'s are local secondary indexes
 * (LSIs) over overloaded sort attributes: unlike a GSI, an LSI can be read with strong
 * consistency, and the catalog's lists must show a write as soon as it returned (the scheduler
 * looks for the job it just created, reclaim for running jobs, the commit for the newest point).
 */
export const ATTR = { pk: "pk", sk: "sk", lsi1: "lsi1", lsi2: "lsi2", lsi3: "lsi3" } as const;

/**
 * The LSIs, by the attribute each sorts on. An item that lacks the attribute is not in the
 * index (a sparse index); the prefixes keep the item types of one index apart:
 * - `lsi1`, by time: `PT#<order>` recovery points, `JB#<order>` jobs, `AP#<order>` approvals;
 * - `lsi2`, by group and time: `PD#<disk>#<order>` points of a disk, `JS#<status>#<order>` jobs;
 * - `lsi3`, by a second group and time: `PA#<disk>#<order>` the *available* points of a disk,
 *   `JD#<disk>#<order>` jobs of a disk.
 */
export const INDEX = { lsi1: "lsi1", lsi2: "lsi2", lsi3: "lsi3" } as const;

/** A table key: the partition and sort key of one item. */
export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

/**
 * A component of a composite sort-key value with `%` and `#` escaped, so that no name can reach
 * into the next component (`a#b` + `c` and `a` + `b#c` stay apart). The last component of a key
 * is left raw: nothing follows it, and raw text keeps DynamoDB's byte order (policies by name).
 */
export function part(value: string): string {
  return value.replaceAll("%", "%25").replaceAll("#", "%23");
}

/** The partition key of every item of vault `vaultId`. */
export function vaultPk(vaultId: string): string {
  return `V#${vaultId}`;
}

/** The key of item `sk` of vault `vaultId`. */
export function itemKey(vaultId: string, sk: string): ItemKey {
  return { pk: vaultPk(vaultId), sk };
}

/** Sort keys of the vault's singleton items and the prefixes of its per-name items. */
export const SK = {
  vault: "VAULT",
  /** The vault's commit-order counter (see `DynamoTable.ticket`). */
  counter: "COUNTER",
  /** The vault's audit head: the last `seq` handed out. */
  auditHead: "AUDITHEAD",
  settings: "SETTINGS",
  disk: "DISK#",
  /** A disk's head: its newest available recovery point, which a commit is conditional on. */
  head: "HEAD#",
  point: "POINT#",
  job: "JOB#",
  policy: "POLICY#",
  approval: "APPROVAL#",
  audit: "AUDIT#",
  /** A protected VM, a VM recovery point, and a disk point's link to its VM point. */
  vm: "VM#",
  vmPoint: "VMPOINT#",
  vmPointDisk: "VMPD#",
  /** Garbage collection's reference records (see references.ts): tracking is on. */
  refVault: "REFVAULT",
  packRef: "PACKREF#",
  segmentRef: "SEGREF#",
  pointRelease: "POINTREL#",
  lease: "LEASE#",
} as const;

/**
 * Prefixes of the reference records' LSI values, apart from the catalog's above (`PT#`, `PD#`, …):
 * - `lsi1` `RS#<state>#<changed>#<pack>`: condemned and deleted packs, by state and time;
 * - `lsi2` `RX#<index>#<pack>`: packs by the index object naming them (removed on condemning);
 * - `lsi3` `RD#<segment>`: dead segments only.
 * - `lsi1` `RU#<registered>#<pack>`: live packs registered and never held since.
 */
export const REF_LSI = { packState: "RS#", packUnheld: "RU#", packIndex: "RX#", deadSegment: "RD#" } as const;

const SIGNED_OFFSET = 2n ** 53n;

/**
 * `n` (a safe integer, possibly negative) as fixed-width digits whose text order is numeric
 * order: DynamoDB compares string sort keys byte by byte.
 */
export function sortableInt(n: number): string {
  return (BigInt(n) + SIGNED_OFFSET).toString().padStart(17, "0");
}

/** A non-negative counter value (a ticket, an audit seq) as fixed-width digits. */
export function sortableCount(n: number): string {
  return n.toString().padStart(16, "0");
}

/**
 * The position of a record in "newest first" listings: its time, then its commit ticket, so
 * records of the same millisecond order by commit order.
 */
export function order(time: number, ticket: number): string {
  return `${sortableInt(time)}#${sortableCount(ticket)}`;
}

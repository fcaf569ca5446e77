/** Which kind of table a partition came from. */
export const PartitionScheme = { Mbr: "mbr", Gpt: "gpt" } as const;
export type PartitionScheme = (typeof PartitionScheme)[keyof typeof PartitionScheme];

/**
 * One partition of a disk, numbered as Linux numbers them: MBR primaries 1-4 by their slot,
 * logical partitions from 5 in chain order; GPT entries by their index in the table from 1.
 */
export interface Partition {
  readonly number: number;
  readonly scheme: PartitionScheme;
  /** Byte offset of its first sector on the disk. */
  readonly offset: number;
  readonly size: number;
  /** The MBR type byte as `0x83`, or the GPT type GUID. */
  readonly type: string;
  /** GPT: the partition's name; MBR: absent. */
  readonly label?: string;
  /** GPT: the partition's unique GUID. */
  readonly guid?: string;
}

/** A disk's partition table: none (a file system or volume on the whole disk), MBR or GPT. */
export interface PartitionTable {
  readonly scheme: PartitionScheme | "none";
  readonly partitions: readonly Partition[];
}

/** Sector size the tables are read with: what virtual disks present. */
export const SECTOR = 512;

/*
 * Types of the untyped disk-format libraries, as far as blockvault uses them (their own
 * documentation is the reference; each is read-only here).
 */

declare module "gpt" {
  /** One entry of a GUID partition table. */
  class PartitionEntry {
    static parse(buffer: Buffer, offset?: number): PartitionEntry;
    type: string;
    guid: string;
    name: string;
    firstLBA: bigint;
    lastLBA: bigint;
    attr: bigint;
    isEmpty(): boolean;
  }
  /** A GPT header and its entries. */
  class GPT {
    static PartitionEntry: typeof PartitionEntry;
    constructor(options?: { blockSize?: number });
    blockSize: number;
    headerSize: number;
    headerChecksum: number;
    currentLBA: bigint;
    backupLBA: bigint;
    firstLBA: bigint;
    lastLBA: bigint;
    guid: string;
    tableOffset: bigint;
    entries: number;
    entrySize: number;
    tableChecksum: number;
    readonly tableSize: number;
    parseHeader(buffer: Buffer, offset?: number): GPT;
    verifyHeader(): boolean;
    checksumTable(buffer: Buffer, offset?: number): number;
  }
  export = GPT;
}

declare module "mbr" {
  /** One of the four entries of a master boot record (or an extended boot record). */
  interface MbrPartition {
    type: number;
    status: number;
    firstLBA: number;
    sectors: number;
    readonly extended: boolean;
  }
  class MBR {
    static parse(buffer: Buffer): MBR;
    partitions: MbrPartition[];
  }
  export = MBR;
}

declare module "ext2fs" {
  /** The block device libext2fs reads through (node `fs.read`'s shape). */
  interface Ext2Disk {
    read(
      buffer: Buffer,
      bufferOffset: number,
      length: number,
      fileOffset: number,
    ): Promise<{ bytesRead: number; buffer: Buffer }>;
    write(
      buffer: Buffer,
      bufferOffset: number,
      length: number,
      fileOffset: number,
    ): Promise<{ bytesWritten: number; buffer: Buffer }>;
    flush(): Promise<void>;
    discard(offset: number, length: number): Promise<void>;
  }
  interface Ext2Stats {
    mode: number;
    nlink: number;
    uid: number;
    gid: number;
    ino: number;
    size: number;
    blocks: number;
    mtime: Date;
    isFile(): boolean;
    isDirectory(): boolean;
    isSymbolicLink(): boolean;
  }
  interface Ext2Promises {
    readdir(path: string, options?: { encoding: "buffer" }): Promise<Buffer[]>;
    lstat(path: string): Promise<Ext2Stats>;
    readlink(path: string, options?: { encoding: "buffer" }): Promise<Buffer>;
    open(path: string, flags: string): Promise<Ext2FileHandle>;
  }
  interface Ext2FileHandle {
    read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
    close(): Promise<void>;
  }
  interface Ext2Fs {
    promises: Ext2Promises;
  }
  export function mount(disk: Ext2Disk, offset?: number): Promise<Ext2Fs>;
  export function umount(fs: Ext2Fs): Promise<void>;
}

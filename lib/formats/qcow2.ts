/**
 * qcow2 (versions 2 and 3), the format of KVM, Proxmox and OpenStack disks, read as the guest
 * sees it: guest clusters map through the L1 table and the L2 tables to host clusters, which
 * hold the data as is, compressed, or nothing (zeros, or the backing file's bytes). Refcounts
 * only matter for writing, so they are not read. Written from the qcow2 specification.
 */
import { type Extent, ExtentList, formatError, type HostFile, type ImageLayout } from "./image-layout.ts";
import { type Qcow2Header, readQcow2Header } from "./qcow2-header.ts";
import { TableCache } from "./table-cache.ts";

export { QCOW2_MAGIC } from "./qcow2-header.ts";

const FORMAT = "qcow2";
/** Bits 9..55 of an L1 or standard L2 entry: the host offset (here the high word's share). */
const OFFSET_HIGH_MASK = 0x00ffffff;
const OFFSET_LOW_MASK = 0xfffffe00;
const COMPRESSED_BIT = 0x40000000;
/** Subclusters of a cluster with extended L2 entries. */
const SUBCLUSTERS = 32;

/**
 * Opens a qcow2 image for reading.
 *
 * @throws ValidationError naming the field when the header or the L1 table is bad.
 */
export async function openQcow2(file: HostFile): Promise<ImageLayout> {
  const header = await readQcow2Header(file);
  const l1 = header.l1Size === 0 ? Buffer.alloc(0) : await file.read(header.l1Offset, header.l1Size * 8);
  return new Qcow2Layout(file, header, l1);
}

class Qcow2Layout implements ImageLayout {
  readonly format = FORMAT;
  readonly size: number;
  readonly backing: Qcow2Header["backing"];
  readonly #header: Qcow2Header;
  readonly #file: HostFile;
  readonly #l1: Buffer;
  readonly #clusterSize: number;
  readonly #entryBytes: number;
  readonly #l2Entries: number;
  readonly #tables: TableCache;

  constructor(file: HostFile, header: Qcow2Header, l1: Buffer) {
    this.#file = file;
    this.#header = header;
    this.#l1 = l1;
    this.size = header.size;
    this.backing = header.backing;
    this.#clusterSize = 2 ** header.clusterBits;
    this.#entryBytes = header.extendedL2 ? 16 : 8;
    this.#l2Entries = this.#clusterSize / this.#entryBytes;
    this.#tables = new TableCache(this.#clusterSize);
  }

  async map(offset: number, length: number): Promise<Extent[]> {
    const list = new ExtentList();
    const span = this.#clusterSize * this.#l2Entries;
    const end = offset + length;
    for (let at = offset; at < end; ) {
      const l1Index = Math.floor(at / span);
      const stop = Math.min(end, (l1Index + 1) * span);
      const table = await this.#l2Table(l1Index);
      if (!table) list.push({ kind: "backing", length: stop - at });
      else this.#mapTable(table, l1Index * span, at, stop, list);
      at = stop;
    }
    return list.extents;
  }

  /** The L2 table of L1 entry `index`, or undefined when there is none (nothing allocated). */
  async #l2Table(index: number): Promise<Buffer | undefined> {
    const host = hostOffset(this.#l1, index * 8);
    if (host === 0) return undefined;
    if (host % this.#clusterSize !== 0) {
      throw formatError(FORMAT, "L1 table", `entry ${index} points at ${host}, not a cluster boundary`);
    }
    return this.#tables.get(host, () => {
      if (host + this.#clusterSize > this.#file.size) {
        throw formatError(FORMAT, "L1 table", `entry ${index} points at ${host}, past the end of the file`);
      }
      return this.#file.read(host, this.#clusterSize);
    });
  }

  /** Maps guest bytes `[from, to)`, all under the L2 table `table` whose first byte is `base`. */
  #mapTable(table: Buffer, base: number, from: number, to: number, list: ExtentList): void {
    const cs = this.#clusterSize;
    for (let at = from; at < to; ) {
      const index = Math.floor((at - base) / cs);
      const within = at - base - index * cs;
      const take = Math.min(cs - within, to - at);
      this.#mapCluster(table, index * this.#entryBytes, within, take, list);
      at += take;
    }
  }

  #mapCluster(table: Buffer, at: number, within: number, take: number, list: ExtentList): void {
    const high = table.readUInt32BE(at);
    if (high & COMPRESSED_BIT) {
      list.push(this.#compressed(high, table.readUInt32BE(at + 4), within, take));
      return;
    }
    const host = hostOffset(table, at);
    if (this.#header.extendedL2) {
      this.#mapSubclusters(host, table.readUInt32BE(at + 8), table.readUInt32BE(at + 12), within, take, list);
      return;
    }
    const zero = this.#header.version === 3 && (table.readUInt32BE(at + 4) & 1) === 1;
    if (host % this.#clusterSize !== 0 && !zero) {
      throw formatError(
        FORMAT,
        "L2 table",
        `entry ${at / this.#entryBytes} points at ${host}, not a cluster boundary`,
      );
    }
    if (zero) list.push({ kind: "zero", length: take });
    else if (host === 0) list.push({ kind: "backing", length: take });
    else list.push({ kind: "data", length: take, host: host + within });
  }

  /** A compressed cluster's descriptor: host offset, then the count of further 512-byte sectors. */
  #compressed(high: number, low: number, within: number, take: number): Extent {
    const offsetBits = 62 - (this.#header.clusterBits - 8);
    const highOffsetBits = offsetBits - 32;
    const host = (high & (2 ** highOffsetBits - 1)) * 2 ** 32 + (low >>> 0);
    const sectors = ((high >>> highOffsetBits) & (2 ** (this.#header.clusterBits - 8) - 1)) + 1;
    const stored = Math.min(sectors * 512 - (host % 512), Math.max(0, this.#file.size - host));
    return {
      kind: "compressed",
      length: take,
      host,
      stored,
      unpacked: this.#clusterSize,
      skip: within,
      codec: this.#header.codec,
    };
  }

  /** A cluster with extended L2 entries: each subcluster allocated, zero, or left to the backing file. */
  #mapSubclusters(
    host: number,
    zeroBits: number,
    allocatedBits: number,
    within: number,
    take: number,
    list: ExtentList,
  ): void {
    const sub = this.#clusterSize / SUBCLUSTERS;
    for (let at = within; at < within + take; ) {
      const index = Math.floor(at / sub);
      const length = Math.min((index + 1) * sub, within + take) - at;
      const bit = 2 ** index;
      if (Math.floor(allocatedBits / bit) % 2 === 1) list.push({ kind: "data", length, host: host + at });
      else if (Math.floor(zeroBits / bit) % 2 === 1) list.push({ kind: "zero", length });
      else list.push({ kind: "backing", length });
      at += length;
    }
  }
}

/** Bits 9..55 of the big-endian 64-bit table entry at `at`. */
function hostOffset(table: Buffer, at: number): number {
  return (
    (table.readUInt32BE(at) & OFFSET_HIGH_MASK) * 2 ** 32 +
    ((table.readUInt32BE(at + 4) & OFFSET_LOW_MASK) >>> 0)
  );
}

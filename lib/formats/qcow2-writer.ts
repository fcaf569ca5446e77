/**
 * Writes a qcow2 version 3 image from guest writes arriving in any order: each guest cluster gets
 * a host cluster on its first write of non-zero bytes, so what is never written (or written as
 * zeros) stays unallocated, and the tables (L2, L1, refcounts) and the header are laid out after
 * the data once the writes are done. Written from the qcow2 specification.
 */
import { QCOW2_MAGIC } from "./qcow2-header.ts";

const CLUSTER_BITS = 16;
const CLUSTER = 2 ** CLUSTER_BITS;
const L2_ENTRIES = CLUSTER / 8;
/** 16-bit refcounts (refcount_order 4), the qcow2 default. */
const REFCOUNT_ORDER = 4;
const REFCOUNTS_PER_BLOCK = (CLUSTER * 8) / 2 ** REFCOUNT_ORDER;
/** Bit 63 of an L1 or L2 entry: the cluster's refcount is exactly one. */
const COPIED = 2n ** 63n;
const HEADER_LENGTH = 104;

/** Where the writer's bytes go: positional writes into the image file. */
export type WriteAt = (offset: number, data: Uint8Array) => Promise<void>;

/** A qcow2 image being written; {@link finish} makes it complete. */
export class Qcow2Writer {
  readonly #size: number;
  readonly #writeAt: WriteAt;
  /** Host cluster of each guest cluster written so far. */
  readonly #hostCluster = new Map<number, number>();
  /** Host clusters handed out: the header is cluster 0. */
  #clusters = 1;

  /**
   * An image of a `size`-byte disk written through `writeAt`. The image's size is rounded up to
   * whole sectors: qemu counts a qcow2's size in sectors, rounding down, and would lose the tail.
   */
  constructor(size: number, writeAt: WriteAt) {
    this.#size = Math.ceil(size / 512) * 512;
    this.#writeAt = writeAt;
  }

  /** Bytes of the header cluster, which the file starts with. */
  static readonly firstBytes = CLUSTER;

  /**
   * Writes guest bytes `data` at guest `offset`. Concurrent calls for disjoint ranges are fine:
   * host clusters are handed out before anything is awaited.
   */
  async write(offset: number, data: Uint8Array): Promise<void> {
    const pieces: Promise<void>[] = [];
    for (let at = 0; at < data.length; ) {
      const guest = offset + at;
      const cluster = Math.floor(guest / CLUSTER);
      const within = guest - cluster * CLUSTER;
      const piece = data.subarray(at, at + Math.min(CLUSTER - within, data.length - at));
      at += piece.length;
      const host = this.#hostCluster.get(cluster) ?? (isZero(piece) ? undefined : this.#allocate(cluster));
      if (host !== undefined) pieces.push(this.#writeAt(host * CLUSTER + within, piece));
    }
    await Promise.all(pieces);
  }

  #allocate(cluster: number): number {
    const host = this.#clusters++;
    this.#hostCluster.set(cluster, host);
    return host;
  }

  /** Writes the L2 tables, the L1 table, the refcounts and the header after the data. */
  async finish(): Promise<void> {
    const l1Size = Math.max(1, Math.ceil(this.#size / (CLUSTER * L2_ENTRIES)));
    const l2Indexes = [...new Set([...this.#hostCluster.keys()].map((c) => Math.floor(c / L2_ENTRIES)))].sort(
      (a, b) => a - b,
    );
    const l2Start = this.#clusters;
    const l1Start = l2Start + l2Indexes.length;
    const l1Clusters = Math.ceil((l1Size * 8) / CLUSTER);
    const refcountStart = l1Start + l1Clusters;
    const { tableClusters, blocks } = refcountLayout(refcountStart);
    const total = refcountStart + tableClusters + blocks;

    const l1 = Buffer.alloc(l1Clusters * CLUSTER);
    const writes: Promise<void>[] = [];
    l2Indexes.forEach((index, i) => {
      l1.writeBigUInt64BE(BigInt((l2Start + i) * CLUSTER) | COPIED, index * 8);
      writes.push(this.#writeAt((l2Start + i) * CLUSTER, this.#l2Table(index)));
    });
    writes.push(this.#writeAt(l1Start * CLUSTER, l1));
    const table = Buffer.alloc(tableClusters * CLUSTER);
    for (let b = 0; b < blocks; b++) {
      const blockCluster = refcountStart + tableClusters + b;
      table.writeBigUInt64BE(BigInt(blockCluster * CLUSTER), b * 8);
      writes.push(this.#writeAt(blockCluster * CLUSTER, refcountBlock(b, total)));
    }
    writes.push(this.#writeAt(refcountStart * CLUSTER, table));
    await Promise.all(writes);
    // The header last: until it is written the file is no image at all.
    await this.#writeAt(
      0,
      header(this.#size, l1Size, l1Start * CLUSTER, refcountStart * CLUSTER, tableClusters),
    );
  }

  #l2Table(index: number): Buffer {
    const table = Buffer.alloc(CLUSTER);
    for (let i = 0; i < L2_ENTRIES; i++) {
      const host = this.#hostCluster.get(index * L2_ENTRIES + i);
      if (host !== undefined) table.writeBigUInt64BE(BigInt(host * CLUSTER) | COPIED, i * 8);
    }
    return table;
  }
}

/**
 * The refcount table and blocks for an image whose other clusters are the first `used`: the
 * refcount structures count themselves too, so their number is found by iterating to a fixed point.
 */
function refcountLayout(used: number): { tableClusters: number; blocks: number } {
  let blocks = 1;
  let tableClusters = 1;
  for (;;) {
    const total = used + tableClusters + blocks;
    const needBlocks = Math.ceil(total / REFCOUNTS_PER_BLOCK);
    const needTable = Math.ceil((needBlocks * 8) / CLUSTER);
    if (needBlocks === blocks && needTable === tableClusters) return { tableClusters, blocks };
    blocks = needBlocks;
    tableClusters = needTable;
  }
}

/** Refcount block `b`: a count of one for each of the image's `total` clusters it covers. */
function refcountBlock(b: number, total: number): Buffer {
  const block = Buffer.alloc(CLUSTER);
  const first = b * REFCOUNTS_PER_BLOCK;
  const count = Math.min(REFCOUNTS_PER_BLOCK, total - first);
  for (let i = 0; i < count; i++) block.writeUInt16BE(1, i * 2);
  return block;
}

function header(
  size: number,
  l1Size: number,
  l1Offset: number,
  refcountOffset: number,
  refcountClusters: number,
): Buffer {
  const h = Buffer.alloc(CLUSTER);
  h.writeUInt32BE(QCOW2_MAGIC, 0);
  h.writeUInt32BE(3, 4);
  h.writeUInt32BE(CLUSTER_BITS, 20);
  h.writeBigUInt64BE(BigInt(size), 24);
  h.writeUInt32BE(l1Size, 36);
  h.writeBigUInt64BE(BigInt(l1Offset), 40);
  h.writeBigUInt64BE(BigInt(refcountOffset), 48);
  h.writeUInt32BE(refcountClusters, 56);
  h.writeUInt32BE(REFCOUNT_ORDER, 96);
  h.writeUInt32BE(HEADER_LENGTH, 100);
  // An end-of-extensions marker (type 0, length 0) follows the header: the zeros already there.
  return h;
}

const ZEROS = Buffer.alloc(CLUSTER);

/** Whether `bytes` (at most a cluster) are all zeros, compared natively. */
function isZero(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).equals(ZEROS.subarray(0, bytes.length));
}

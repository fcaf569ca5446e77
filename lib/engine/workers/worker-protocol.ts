import type { PackedBlob } from "../pack/pack.ts";
import { BLOCK_ID_BYTES } from "../store/layout.ts";

/** A chunk of a local source file for a worker to read (see the scan request). */
export interface SourceRead {
  readonly fd: number;
  readonly offset: number;
  readonly source: string;
  readonly parts?: readonly { readonly offset: number; readonly length: number }[];
}

/**
 * A pack a worker finished: in a buffer shared with (or, if it outgrew its shared buffer,
 * transferred to) the engine for upload, then recycled; or, without a buffer, in the file named
 * `id` in the staging directory the workers were given.
 */
export interface WorkerPack {
  readonly id: string;
  readonly buffer?: ArrayBuffer | SharedArrayBuffer;
  readonly length: number;
  readonly generation: number;
  readonly blobs: PackedBlob[];
}

/** Messages from the engine to its block workers (see block-worker.ts). */
export type WorkerRequest =
  | {
      type: "init";
      blockIdKey: Uint8Array;
      fingerprintKeys: readonly [Uint8Array, Uint8Array];
      zstdLevel: number;
      packTarget: number;
      blockSize: number;
      /** One Int32 shared by the pool's workers: the lock around writes to a restore target. */
      writeLock: SharedArrayBuffer;
    }
  | { type: "key"; generation: number; key: Uint8Array; wrapped: string; masterKeyId: string }
  | {
      type: "scan";
      seq: number;
      /**
       * The chunk's bytes, transferred; absent when `read` is set: the worker then reads into a
       * buffer of its own, which never crosses threads (see block-worker.ts).
       */
      buffer?: ArrayBuffer;
      length: number;
      /**
       * When set, the worker reads `length` bytes at `offset` of this local file (the source's
       * `localFile`) itself; `source` names it in errors. With `parts` it reads only those ranges
       * (offsets from `offset`): the allocation map says the rest is zeros.
       */
      read?: SourceRead;
      /** The parent point's IDs and fingerprints of these blocks, when there is a parent. */
      parentIds?: Uint8Array;
      parentFingerprints?: Uint8Array;
    }
  | { type: "seal"; seq: number; generation: number; blocks: number[] }
  | { type: "flush"; seq: number }
  /** Drop the open pack and wait for every pack write in flight: the thread is about to end. */
  | { type: "close"; seq: number }
  /** Write packs into files in `directory` from now on (see `WorkerPack`). */
  | { type: "stage"; directory: string }
  | { type: "recycle"; buffer: ArrayBuffer | SharedArrayBuffer }
  | {
      type: "open";
      seq: number;
      key: Uint8Array;
      /** The sealed blobs: bytes sent along, or a range of an object's local file to read. */
      source: ArrayBuffer | ObjectFileRange;
      items: PackedItems;
      /** When set, write the placements to this file descriptor instead of replying with data. */
      fd?: number;
      /** The placements, packed by {@link packPlacements}. */
      placements?: Float64Array;
    };

/** A byte range of an object, read by the worker from the object's local file. */
export interface ObjectFileRange {
  readonly path: string;
  /** The object's key, for messages. */
  readonly key: string;
  readonly offset: number;
  readonly length: number;
}

/** A sealed blob inside a buffer sent to a worker for opening. */
export interface OpenItem {
  readonly id: string;
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
}

/** Write `length` bytes of opened item `item`, from byte `from` of it, at target offset `to`. */
export interface Placement {
  readonly item: number;
  readonly from: number;
  readonly length: number;
  readonly to: number;
}

/*
 * A restore posts hundreds of open requests a second, each with dozens of items and placements.
 * As arrays of objects, cloning them costs the main thread (which the workers need) a visible
 * share of a restore; packed into typed arrays, a clone is a copy of bytes.
 */

/** Items packed for posting: their IDs back to back, and offset, length, raw length of each. */
export interface PackedItems {
  readonly ids: Uint8Array;
  readonly layout: Float64Array;
}

/** An item as a worker sees it: its ID as bytes. */
export interface UnpackedItem {
  readonly id: Buffer;
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
}

/** Packs items for a message (IDs are 32-byte hex strings). */
export function packItems(items: readonly OpenItem[]): PackedItems {
  const ids = Buffer.allocUnsafeSlow(items.length * BLOCK_ID_BYTES);
  const layout = new Float64Array(items.length * 3);
  items.forEach((item, i) => {
    const written = ids.write(item.id, i * BLOCK_ID_BYTES, BLOCK_ID_BYTES, "hex");
    if (written !== BLOCK_ID_BYTES || item.id.length !== 2 * BLOCK_ID_BYTES) {
      throw new Error(`item ${i}: "${item.id}" is not a 32-byte hex ID`);
    }
    layout.set([item.offset, item.length, item.rawLength], i * 3);
  });
  return { ids: new Uint8Array(ids.buffer, ids.byteOffset, ids.length), layout };
}

/** The items of a message, with views of their IDs. */
export function unpackItems(packed: PackedItems): UnpackedItem[] {
  const ids = Buffer.from(packed.ids.buffer, packed.ids.byteOffset, packed.ids.length);
  const { layout } = packed;
  return Array.from({ length: layout.length / 3 }, (_, i) => ({
    id: ids.subarray(i * BLOCK_ID_BYTES, (i + 1) * BLOCK_ID_BYTES),
    offset: layout[i * 3]!,
    length: layout[i * 3 + 1]!,
    rawLength: layout[i * 3 + 2]!,
  }));
}

/** Packs placements for a message: item, from, length, to of each. */
export function packPlacements(placements: readonly Placement[]): Float64Array {
  const packed = new Float64Array(placements.length * 4);
  placements.forEach((p, i) => {
    packed.set([p.item, p.from, p.length, p.to], i * 4);
  });
  return packed;
}

/** The placements of a message. */
export function unpackPlacements(packed: Float64Array): Placement[] {
  return Array.from({ length: packed.length / 4 }, (_, i) => ({
    item: packed[i * 4]!,
    from: packed[i * 4 + 1]!,
    length: packed[i * 4 + 2]!,
    to: packed[i * 4 + 3]!,
  }));
}

/**
 * Bytes of blocks one open request holds at most once opened: the restore plans its reads within
 * this, and a worker opens compressed blocks into a scratch buffer of this size (plus one byte).
 */
export const MAX_OPENED_BYTES = 2 * 1024 * 1024;

/** Replies from a block worker. */
export type WorkerReply =
  /**
   * `released`: the chunk held only holes and blocks unchanged from the parent, so nothing of it
   * can need sealing and the worker has let it go (no seal request follows); `chunk` is the
   * scan's buffer, back for reuse, when the engine sent one.
   */
  | {
      type: "scanned";
      seq: number;
      ids: ArrayBuffer;
      fingerprints: ArrayBuffer;
      released: boolean;
      chunk?: ArrayBuffer;
    }
  /** `chunk` is the scan's buffer, back for reuse, when the engine sent one. */
  | { type: "sealed"; seq: number; chunk?: ArrayBuffer; packs: WorkerPack[] }
  | { type: "flushed"; seq: number; packs: WorkerPack[] }
  | { type: "closed"; seq: number }
  | { type: "opened"; seq: number; buffer: ArrayBuffer; lengths: number[] }
  | { type: "written"; seq: number; bytes: number }
  | { type: "error"; seq: number; name: string; message: string; code: string };

/**
 * What a message must transfer among `values`: the plain `ArrayBuffer`s. Shared buffers are shared,
 * not moved; anything else (absent buffers, file ranges) has nothing to transfer.
 */
export function movable(values: readonly unknown[]): ArrayBuffer[] {
  return values.filter((v): v is ArrayBuffer => v instanceof ArrayBuffer);
}

import type { PackedBlob } from "./pack.ts";

/** A pack a worker finished: transferred to the engine for upload, then recycled. */
export interface WorkerPack {
  readonly id: string;
  readonly buffer: ArrayBuffer;
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
      buffer: ArrayBuffer;
      length: number;
      /**
       * When set, the worker first reads `length` bytes at `offset` of this local file into
       * `buffer` (the source's `localFile`); `source` names it in errors.
       */
      read?: { fd: number; offset: number; source: string };
      /** The parent point's IDs and fingerprints of these blocks, when there is a parent. */
      parentIds?: Uint8Array;
      parentFingerprints?: Uint8Array;
    }
  | { type: "seal"; seq: number; generation: number; blocks: number[] }
  | { type: "flush"; seq: number }
  | { type: "recycle"; buffer: ArrayBuffer }
  | {
      type: "open";
      seq: number;
      key: Uint8Array;
      /** The sealed blobs: bytes sent along, or a range of an object's local file to read. */
      source: ArrayBuffer | ObjectFileRange;
      items: OpenItem[];
      /** When set, write the placements to this file descriptor instead of replying with data. */
      fd?: number;
      placements?: Placement[];
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

/** Replies from a block worker. */
export type WorkerReply =
  | { type: "scanned"; seq: number; ids: ArrayBuffer; fingerprints: ArrayBuffer }
  | { type: "sealed"; seq: number; chunk: ArrayBuffer; packs: WorkerPack[] }
  | { type: "flushed"; seq: number; packs: WorkerPack[] }
  | { type: "opened"; seq: number; buffer: ArrayBuffer; lengths: number[] }
  | { type: "written"; seq: number; bytes: number }
  | { type: "error"; seq: number; name: string; message: string; code: string };

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { BlockvaultError, IntegrityError, SourceError } from "../../errors.ts";
import { ownedArrayBuffer } from "../../util/buffers.ts";
import {
  movable,
  type ObjectFileRange,
  type OpenItem,
  type Placement,
  packItems,
  packPlacements,
  type SourceRead,
  type WorkerPack,
  type WorkerReply,
  type WorkerRequest,
} from "./worker-protocol.ts";

/** A finished pack and the worker whose buffer it occupies (to recycle it there). */
export interface PooledPack extends WorkerPack {
  readonly worker: BlockWorker;
}

type Pending = { resolve: (r: WorkerReply) => void; reject: (e: Error) => void };

/**
 * The worker's entry point. Run from source it is the `.ts` file beside this one; bundled for
 * Lambda (an `.mjs` handler), the build puts `block-worker.mjs` beside the handler (see
 * infra/esbuild-plugins.mjs), since a bundle has no `.ts` files left to start a thread from.
 */
const WORKER_URL = new URL(
  import.meta.url.endsWith(".mjs") ? "./block-worker.mjs" : "./block-worker.ts",
  import.meta.url,
);

/** Held by the worker that is briefly switching on V8's `--expose-gc` (see worker-gc.ts). */
const gcFlagLock = new Int32Array(new SharedArrayBuffer(4));

/** One worker thread and the requests waiting on it. */
export class BlockWorker {
  readonly thread: Worker;
  readonly pending = new Map<number, Pending>();
  /** The thread's failure, kept until a pool adopts it if it failed while still warm. */
  private failure: Error | undefined;
  private onFatal: ((err: Error) => void) | undefined;

  constructor() {
    this.thread = new Worker(WORKER_URL, {
      workerData: { gcFlagLock },
      // A small young generation makes the many short-lived crypto and zstd output buffers
      // die sooner, keeping resident memory flat (measured: 418 MiB peak at 16, 356 MiB at 1).
      resourceLimits: { maxYoungGenerationSizeMb: 1 },
    });
    this.thread.on("message", (reply: WorkerReply) => {
      const waiter = this.pending.get(reply.seq);
      if (!waiter) return;
      this.pending.delete(reply.seq);
      if (reply.type === "error") waiter.reject(rebuildError(reply));
      else waiter.resolve(reply);
    });
    this.thread.on("error", (err) => {
      this.failure = err;
      this.onFatal?.(err);
    });
  }

  /** Hands the worker to a pool: `onFatal` hears of its failure (at once if it already failed). */
  adopt(onFatal: (err: Error) => void): void {
    this.onFatal = onFatal;
    this.thread.ref();
    const failure = this.failure;
    // Reported after the pool has finished constructing, like any later failure.
    if (failure) queueMicrotask(() => onFatal(failure));
  }

  request(msg: WorkerRequest & { seq: number }, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.pending.set(msg.seq, { resolve, reject });
      this.thread.postMessage(msg, transfer);
    });
  }
}

/** Threads started ahead of need, waiting for a pool (see {@link prestartWorkers}). */
const warm: BlockWorker[] = [];

/**
 * Starts the worker threads a pool will need now, while the caller does other start-up work: a
 * thread's boot is a large part of a one-second incremental backup. The next
 * pools adopt them. Warm threads do not keep the process alive.
 */
export function prestartWorkers(count = defaultPoolSize()): void {
  while (warm.length < count) {
    const worker = new BlockWorker();
    worker.thread.unref();
    warm.push(worker);
  }
}

function rebuildError(reply: Extract<WorkerReply, { type: "error" }>): Error {
  if (reply.name === "IntegrityError") return new IntegrityError(reply.message);
  if (reply.name === "SourceError") return new SourceError(reply.message);
  return new BlockvaultError(`block worker: ${reply.message}`);
}

/**
 * A fixed pool of block workers. A scanned chunk stays in the worker that scanned it until it is
 * sealed, so callers get back the worker to send the seal request to.
 */
export class WorkerPool {
  private readonly workers: BlockWorker[];
  /** Number of worker threads. */
  readonly size: number;
  private seq = 0;
  private next = 0;
  private fatal: Error | undefined;

  constructor(options: {
    blockIdKey: Buffer;
    fingerprintKeys: readonly [Buffer, Buffer];
    zstdLevel: number;
    blockSize: number;
    packTarget: number;
    size?: number;
  }) {
    this.size = options.size ?? defaultPoolSize();
    this.workers = Array.from({ length: this.size }, () => {
      const worker = warm.shift() ?? new BlockWorker();
      worker.adopt((err) => this.fail(err));
      return worker;
    });
    const { blockIdKey, fingerprintKeys, zstdLevel, blockSize, packTarget } = options;
    const init: WorkerRequest = {
      type: "init",
      blockIdKey,
      fingerprintKeys,
      zstdLevel,
      blockSize,
      packTarget,
      writeLock: new SharedArrayBuffer(4),
    };
    for (const w of this.workers) w.thread.postMessage(init);
  }

  private fail(err: Error): void {
    this.fatal = err;
    for (const w of this.workers) for (const p of w.pending.values()) p.reject(err);
  }

  private pick(): BlockWorker {
    if (this.fatal) throw this.fatal;
    // Least outstanding requests first, round-robin among equals.
    let best = this.workers[this.next++ % this.workers.length]!;
    for (const w of this.workers) if (w.pending.size < best.pending.size) best = w;
    return best;
  }

  /** Sends a data key generation to every worker (messages are ordered, so later seals see it). */
  setDataKey(generation: number, key: Buffer, wrapped: string, masterKeyId: string): void {
    const msg: WorkerRequest = {
      type: "key",
      generation,
      key: new Uint8Array(ownedArrayBuffer(key)),
      wrapped,
      masterKeyId,
    };
    for (const w of this.workers) w.thread.postMessage(msg);
  }

  /**
   * Hashes the blocks of `buffer` (transferred) or, when `read` says where, of a chunk of a local
   * file the worker reads into a buffer of its own; returns their IDs and the worker holding them.
   * A `released` chunk (only holes and the parent's blocks) is not held: it takes no seal, and
   * `chunk` is `buffer` back.
   */
  async scan(
    buffer: ArrayBuffer | undefined,
    length: number,
    parent?: { ids: Buffer; fingerprints: Buffer },
    read?: SourceRead,
  ): Promise<{
    worker: BlockWorker;
    seq: number;
    ids: Buffer;
    fingerprints: Buffer;
    released: boolean;
    chunk?: ArrayBuffer;
  }> {
    const worker = this.pick();
    const seq = this.seq++;
    // Copies of just this segment's slices: posting a view would clone its whole underlying
    // buffer (the parent's entire block map) with every message.
    const msg: WorkerRequest = {
      type: "scan",
      seq,
      ...(buffer ? { buffer } : {}),
      length,
      ...(read ? { read } : {}),
      ...(parent
        ? { parentIds: new Uint8Array(parent.ids), parentFingerprints: new Uint8Array(parent.fingerprints) }
        : {}),
    };
    const reply = (await worker.request(msg, movable([buffer]))) as Extract<WorkerReply, { type: "scanned" }>;
    return {
      worker,
      seq,
      ids: Buffer.from(reply.ids),
      fingerprints: Buffer.from(reply.fingerprints),
      released: reply.released,
      ...(reply.chunk ? { chunk: reply.chunk } : {}),
    };
  }

  /**
   * Seals the listed blocks of a scanned chunk into the worker's open pack. Returns the chunk's
   * buffer (for reuse) and any packs that filled up.
   */
  async seal(
    worker: BlockWorker,
    seq: number,
    generation: number,
    blocks: number[],
  ): Promise<{ chunk: ArrayBuffer | undefined; packs: PooledPack[] }> {
    const reply = (await worker.request({ type: "seal", seq, generation, blocks })) as Extract<
      WorkerReply,
      { type: "sealed" }
    >;
    return { chunk: reply.chunk, packs: reply.packs.map((p) => ({ ...p, worker })) };
  }

  /** Finishes every worker's open pack. */
  async flush(): Promise<PooledPack[]> {
    const replies = await Promise.all(
      this.workers.map(async (worker) => {
        const reply = (await worker.request({ type: "flush", seq: this.seq++ })) as Extract<
          WorkerReply,
          { type: "flushed" }
        >;
        return reply.packs.map((p) => ({ ...p, worker }));
      }),
    );
    return replies.flat();
  }

  /** Hands an uploaded pack's buffer back to the worker that filled it. */
  recycle(pack: PooledPack): void {
    const { buffer } = pack;
    if (this.fatal || !buffer) return;
    pack.worker.thread.postMessage({ type: "recycle", buffer } satisfies WorkerRequest, movable([buffer]));
  }

  /**
   * Has the workers write the packs they start from now on into files in `directory` (a staging
   * area's), named by pack ID, instead of into buffers.
   */
  stageInto(directory: string): void {
    const msg: WorkerRequest = { type: "stage", directory };
    for (const w of this.workers) w.thread.postMessage(msg);
  }

  /**
   * Opens and verifies sealed blobs found in `source` (a buffer, transferred, or a range of an
   * object's local file the worker reads); returns their bytes.
   */
  async open(key: Buffer, source: ArrayBuffer | ObjectFileRange, items: OpenItem[]): Promise<Buffer[]> {
    const worker = this.pick();
    const seq = this.seq++;
    const reply = await worker.request(
      { type: "open", seq, key: new Uint8Array(ownedArrayBuffer(key)), source, items: packItems(items) },
      movable([source]),
    );
    return split(reply as Extract<WorkerReply, { type: "opened" }>);
  }

  /**
   * Opens and verifies sealed blobs found in `source` (as for {@link open}) and writes them, as the
   * placements say, to the file descriptor `fd` straight from the worker.
   */
  async openInto(
    key: Buffer,
    source: ArrayBuffer | ObjectFileRange,
    items: OpenItem[],
    fd: number,
    placements: Placement[],
  ): Promise<number> {
    const worker = this.pick();
    const seq = this.seq++;
    const reply = await worker.request(
      {
        type: "open",
        seq,
        key: new Uint8Array(ownedArrayBuffer(key)),
        source,
        items: packItems(items),
        fd,
        placements: packPlacements(placements),
      },
      movable([source]),
    );
    return (reply as Extract<WorkerReply, { type: "written" }>).bytes;
  }

  /**
   * Stops the workers. Packs still being filled are dropped (the staging area they are in is
   * removed by its owner); each worker first waits for its pack writes in flight, so no write
   * outlives the thread that started it.
   */
  async close(): Promise<void> {
    if (!this.fatal) {
      await Promise.allSettled(this.workers.map((w) => w.request({ type: "close", seq: this.seq++ })));
    }
    await Promise.all(this.workers.map((w) => w.thread.terminate()));
  }
}

function split(reply: { buffer: ArrayBuffer; lengths: number[] }): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const n of reply.lengths) {
    out.push(Buffer.from(reply.buffer, at, n));
    at += n;
  }
  return out;
}

/** A pool for opening blobs (restore, data check): no packs are built, so no pack target. */
export function openingPool(ctx: {
  secrets: { blockIdKey: Buffer; fingerprintKeys: readonly [Buffer, Buffer] };
  config: { zstdLevel: number; blockSize: number };
}): WorkerPool {
  return new WorkerPool({
    blockIdKey: ctx.secrets.blockIdKey,
    fingerprintKeys: ctx.secrets.fingerprintKeys,
    zstdLevel: ctx.config.zstdLevel,
    blockSize: ctx.config.blockSize,
    packTarget: 0,
  });
}

/** One worker per core; the main thread's I/O and bookkeeping fit beside them. */
function defaultPoolSize(): number {
  const fromEnv = Number(process.env.BLOCKVAULT_WORKERS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.max(1, availableParallelism());
}

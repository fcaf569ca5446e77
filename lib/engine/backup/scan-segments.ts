import { SourceError } from "../../errors.ts";
import type { ChangedRange, VolumeRange, VolumeSource } from "../../ports/volume-source.ts";
import type { DataKeyRotation } from "../keys/data-keys.ts";
import type { PackSink } from "../pack/pack-sink.ts";
import { HOLE_ID, type StreamedManifest } from "../points/manifest.ts";
import { BLOCK_ID_BYTES, FINGERPRINT_BYTES } from "../store/layout.ts";
import type { BlockWorker, WorkerPool } from "../workers/worker-pool.ts";
import { AllocationMap } from "./allocation-map.ts";
import { segmentsTouched } from "./changed-ranges.ts";

/** What the scan needs to know about the vault and the parent point. */
export interface ScanInputs {
  readonly source: VolumeSource;
  readonly blockSize: number;
  readonly segmentBlocks: number;
  /**
   * The parent's block map (IDs with holes all zero, and fingerprints), or undefined for a full
   * backup. Its segments may still be loading: each is awaited before its slice is used.
   */
  readonly parent: Pick<StreamedManifest, "ids" | "fingerprints" | "segmentLoaded"> | undefined;
  /**
   * The ranges that may have changed since the parent (change tracking); the rest is promised
   * unchanged and not read. Everything is read when undefined.
   */
  readonly changed: readonly ChangedRange[] | undefined;
  /**
   * The ranges that may hold data (the source's allocation map); the rest is zeros, recorded as
   * holes without being read. Everything is read when undefined (or when the map is malformed).
   */
  readonly allocated?: readonly VolumeRange[] | undefined;
  /**
   * The blocks the vault already stores (by hex ID). It may still be loading when the scan
   * starts: reading and hashing the first chunks does not need it, only deciding does.
   */
  readonly stored: Promise<{ has(id: string): boolean }>;
  readonly pool: WorkerPool;
  readonly rotation: DataKeyRotation;
  readonly sink: PackSink;
  readonly onProgress?: (bytesDone: number) => void;
}

/** Totals of one scan. */
export interface ScanStats {
  bytesScanned: number;
  bytesChanged: number;
  blocksNew: number;
  bytesNew: number;
}

/**
 * Bytes the scan reads and hashes as one unit: big enough for few messages, small enough that
 * the chunks in flight stay a few tens of MiB. A segment (the manifest's unit) may span several.
 */
const CHUNK_BYTES = 4 * 1024 * 1024;

/** The new block map and the totals of a scan. */
export interface ScanResult {
  readonly ids: Buffer;
  readonly fingerprints: Buffer;
  readonly stats: ScanStats;
}

/**
 * Reads the source chunk by chunk, hashes every block in the workers, decides which blocks
 * are new (not the parent's block at that offset, not stored, not already queued in this run),
 * seals only those and hands them to the pack sink. Returns the new block map and the totals.
 * Chunks are processed several at a time and may finish out of order; decisions are made on
 * the main thread, so dedup within the run needs no locks.
 */
export async function scanSegments(inputs: ScanInputs, concurrency: number): Promise<ScanResult> {
  const scan = new SegmentScan(inputs);
  await scan.run(concurrency);
  await inputs.sink.accept(await inputs.pool.flush());
  return { ids: scan.ids, fingerprints: scan.fingerprints, stats: scan.stats };
}

/** One chunk's place on the volume. */
interface Chunk {
  readonly index: number;
  readonly firstBlock: number;
  readonly offset: number;
  readonly length: number;
  readonly count: number;
}

/** A parent's slice of the block map for one chunk. */
type ParentSlice = { ids: Buffer; fingerprints: Buffer } | undefined;

/** The state of one scan: the block map it builds, what it queued, and its totals. */
class SegmentScan {
  readonly ids: Buffer;
  readonly fingerprints: Buffer;
  readonly stats: ScanStats = { bytesScanned: 0, bytesChanged: 0, blocksNew: 0, bytesNew: 0 };
  readonly #inputs: ScanInputs;
  readonly #chunkBlocks: number;
  readonly #chunkCount: number;
  readonly #chunksToRead: Set<number> | undefined;
  readonly #allocation: AllocationMap | undefined;
  readonly #queued = new Set<string>();
  /** Chunk buffers come back from the workers and are read into again. */
  readonly #spare: ArrayBuffer[] = [];
  #next = 0;
  #failed = false;
  #progress = 0;

  constructor(inputs: ScanInputs) {
    const { source, blockSize, segmentBlocks } = inputs;
    const blocks = Math.ceil(source.size / blockSize);
    this.#inputs = inputs;
    this.#chunkBlocks = Math.max(1, Math.min(segmentBlocks, Math.floor(CHUNK_BYTES / blockSize)));
    this.#chunkCount = Math.ceil(blocks / this.#chunkBlocks);
    this.#chunksToRead = inputs.changed && segmentsTouched(inputs.changed, this.#chunkBlocks * blockSize);
    this.#allocation = AllocationMap.of(inputs.allocated, source.size);
    this.ids = Buffer.alloc(blocks * BLOCK_ID_BYTES);
    this.fingerprints = Buffer.alloc(blocks * FINGERPRINT_BYTES);
  }

  /** Processes every chunk, `concurrency` at a time; the first failure stops the others. */
  async run(concurrency: number): Promise<void> {
    const runners = Array.from({ length: Math.min(concurrency, this.#chunkCount) }, () => this.#runner());
    const rejected = (await Promise.allSettled(runners)).find((r) => r.status === "rejected");
    if (rejected) throw (rejected as PromiseRejectedResult).reason;
  }

  async #runner(): Promise<void> {
    while (!this.#failed && this.#next < this.#chunkCount) {
      try {
        await this.#processChunk(this.#chunk(this.#next++));
      } catch (err) {
        this.#failed = true;
        throw err;
      }
    }
  }

  #chunk(index: number): Chunk {
    const { blockSize, source } = this.#inputs;
    const firstBlock = index * this.#chunkBlocks;
    const offset = firstBlock * blockSize;
    const length = Math.min(this.#chunkBlocks * blockSize, source.size - offset);
    return { index, firstBlock, offset, length, count: Math.ceil(length / blockSize) };
  }

  async #processChunk(chunk: Chunk): Promise<void> {
    // The parent's segments may still be loading: read the source meanwhile.
    const parentReady = this.#parentSlice(chunk);
    parentReady?.catch(() => {}); // awaited below unless the read fails first
    if (this.#chunksToRead && !this.#chunksToRead.has(chunk.index)) {
      await this.#keepParent(chunk, parentReady);
    } else {
      const allocated = this.#allocation?.chunk(chunk.offset, chunk.length);
      if (allocated?.kind === "none") await this.#recordHoles(chunk, parentReady);
      else
        await this.#scanChunk(chunk, parentReady, allocated?.kind === "parts" ? allocated.parts : undefined);
    }
    this.#progress += chunk.length;
    this.#inputs.onProgress?.(this.#progress);
  }

  #parentSlice(chunk: Chunk): Promise<ParentSlice> | undefined {
    const { parent, segmentBlocks } = this.#inputs;
    if (!parent) return undefined;
    return parentSlices(
      parent,
      segmentRange(chunk.firstBlock, chunk.count, segmentBlocks),
      chunk.firstBlock,
      chunk.count,
    );
  }

  /** The parent's map is the starting point: what this scan does not change stays as it was. */
  async #keepParent(chunk: Chunk, parentReady: Promise<ParentSlice> | undefined): Promise<ParentSlice> {
    const parent = await parentReady;
    parent?.ids.copy(this.ids, chunk.firstBlock * BLOCK_ID_BYTES);
    parent?.fingerprints.copy(this.fingerprints, chunk.firstBlock * FINGERPRINT_BYTES);
    return parent;
  }

  /** Nothing allocated here: every block is a hole (the map stays zero), known without reading. */
  async #recordHoles(chunk: Chunk, parentReady: Promise<ParentSlice> | undefined): Promise<void> {
    const parent = await parentReady;
    if (parent) this.stats.bytesChanged += dataBytes(parent.ids, this.#inputs.blockSize, chunk.length);
    this.stats.bytesScanned += chunk.length;
  }

  /** Reads and hashes a chunk, records its blocks, and seals the new ones. */
  async #scanChunk(
    chunk: Chunk,
    parentReady: Promise<ParentSlice> | undefined,
    parts: readonly VolumeRange[] | undefined,
  ): Promise<void> {
    const { source, pool, blockSize } = this.#inputs;
    // A local file is read by the worker itself, into a buffer of its own that it hashes straight
    // away; other sources are read here. Of a chunk allocated in parts only those are read, and
    // the rest zero-filled.
    const local = source.localFile;
    const buffer = local ? undefined : (this.#spare.pop() ?? new ArrayBuffer(this.#chunkBlocks * blockSize));
    if (buffer) await readInto(source, Buffer.from(buffer, 0, chunk.length), chunk.offset, parts);
    const parent = await this.#keepParent(chunk, parentReady);
    const read = local && {
      fd: local.fd,
      offset: chunk.offset,
      source: source.description,
      ...(parts ? { parts } : {}),
    };
    const scanned = await pool.scan(buffer, chunk.length, parent, read);
    scanned.fingerprints.copy(this.fingerprints, chunk.firstBlock * FINGERPRINT_BYTES);
    const fresh = this.#decide(chunk, scanned.ids, parent, await this.#inputs.stored);
    this.stats.bytesScanned += chunk.length;
    if (scanned.released) {
      // The worker hashed no block: every one is a hole or the parent's, so none can be fresh.
      if (fresh.length > 0) throw new Error(`scan of chunk ${chunk.index} released blocks it had to seal`);
      if (scanned.chunk) this.#spare.push(scanned.chunk);
      return;
    }
    await this.#seal(scanned.worker, scanned.seq, fresh);
  }

  /**
   * Records the chunk's block IDs in the map and returns the blocks to store: those that are not
   * the parent's, not holes, not stored and not queued earlier in this run.
   */
  #decide(
    chunk: Chunk,
    scannedIds: Buffer,
    parent: ParentSlice,
    stored: { has(id: string): boolean },
  ): number[] {
    const { blockSize } = this.#inputs;
    const fresh: number[] = [];
    for (let b = 0; b < chunk.count; b++) {
      const id = scannedIds.subarray(b * BLOCK_ID_BYTES, (b + 1) * BLOCK_ID_BYTES);
      const before = parent?.ids.subarray(b * BLOCK_ID_BYTES, (b + 1) * BLOCK_ID_BYTES);
      id.copy(this.ids, (chunk.firstBlock + b) * BLOCK_ID_BYTES);
      const blockLength = Math.min(blockSize, chunk.length - b * blockSize);
      if (before?.equals(id)) continue;
      this.stats.bytesChanged += id.equals(HOLE_ID) && !before ? 0 : blockLength;
      if (id.equals(HOLE_ID)) continue;
      const hex = id.toString("hex");
      if (this.#queued.has(hex) || stored.has(hex)) continue;
      this.#queued.add(hex);
      fresh.push(b);
      this.stats.blocksNew++;
      this.stats.bytesNew += blockLength;
    }
    return fresh;
  }

  /** Has the worker seal the fresh blocks of its chunk and hands the packs it closed to the sink. */
  async #seal(worker: BlockWorker, seq: number, fresh: number[]): Promise<void> {
    const { rotation, pool, sink } = this.#inputs;
    const key = fresh.length > 0 ? await rotation.current() : undefined;
    const sealed = await pool.seal(worker, seq, key?.generation ?? 0, fresh);
    if (sealed.chunk) this.#spare.push(sealed.chunk);
    await sink.accept(sealed.packs);
  }
}

/** Bytes of the blocks (of a chunk `length` bytes long) that `ids` does not record as holes. */
function dataBytes(ids: Buffer, blockSize: number, length: number): number {
  let bytes = 0;
  for (let b = 0; b * blockSize < length; b++) {
    if (!ids.subarray(b * BLOCK_ID_BYTES, (b + 1) * BLOCK_ID_BYTES).equals(HOLE_ID)) {
      bytes += Math.min(blockSize, length - b * blockSize);
    }
  }
  return bytes;
}

/** The segments blocks [firstBlock, firstBlock + count) fall in. */
function segmentRange(firstBlock: number, count: number, segmentBlocks: number): number[] {
  const first = Math.floor(firstBlock / segmentBlocks);
  const last = Math.floor((firstBlock + count - 1) / segmentBlocks);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** Blocks [firstBlock, firstBlock + count) of the parent's map, once their segments loaded. */
async function parentSlices(
  parent: NonNullable<ScanInputs["parent"]>,
  segments: readonly number[],
  firstBlock: number,
  count: number,
): Promise<{ ids: Buffer; fingerprints: Buffer }> {
  for (const s of segments) await parent.segmentLoaded(s);
  return {
    ids: parent.ids.subarray(firstBlock * BLOCK_ID_BYTES, (firstBlock + count) * BLOCK_ID_BYTES),
    fingerprints: parent.fingerprints.subarray(
      firstBlock * FINGERPRINT_BYTES,
      (firstBlock + count) * FINGERPRINT_BYTES,
    ),
  };
}

/**
 * Fills `view` with the source's bytes at `offset`: all of them, or only `parts` (offsets from
 * `offset`) with zeros around them.
 */
async function readInto(
  source: VolumeSource,
  view: Buffer,
  offset: number,
  parts: readonly VolumeRange[] | undefined,
): Promise<void> {
  if (!parts) return readSpan(source, view, offset);
  view.fill(0);
  for (const p of parts)
    await readSpan(source, view.subarray(p.offset, p.offset + p.length), offset + p.offset);
}

/** Reads `view.length` bytes of the source at `offset` into `view`. */
async function readSpan(source: VolumeSource, view: Buffer, offset: number): Promise<void> {
  const length = view.length;
  const got = await source.read(offset, length, view);
  // A source may ignore `into` and return its own buffer: the bytes must end up in the view.
  if (got.buffer !== view.buffer || got.byteOffset !== view.byteOffset) got.copy(view);
  if (got.length !== length) {
    throw new SourceError(
      `${source.description}: read ${got.length} bytes at offset ${offset}, expected ${length}`,
    );
  }
}

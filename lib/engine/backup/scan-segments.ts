import { SourceError } from "../../errors.ts";
import { localFileOf } from "../../ports/local-files.ts";
import type { ChangedRange, VolumeRange, VolumeSource } from "../../ports/volume-source.ts";
import type { DataKeyRotation } from "../keys/data-keys.ts";
import type { PackSink } from "../pack/pack-sink.ts";
import { HOLE_ID, type StreamedManifest } from "../points/manifest.ts";
import { BLOCK_ID_BYTES, FINGERPRINT_BYTES } from "../store/layout.ts";
import type { WorkerPool } from "../workers/worker-pool.ts";
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

/**
 * Reads the source chunk by chunk, hashes every block in the workers, decides which blocks
 * are new (not the parent's block at that offset, not stored, not already queued in this run),
 * seals only those and hands them to the pack sink. Returns the new block map and the totals.
 * Chunks are processed several at a time and may finish out of order; decisions are made on
 * the main thread, so dedup within the run needs no locks.
 */
export async function scanSegments(
  inputs: ScanInputs,
  concurrency: number,
): Promise<{ ids: Buffer; fingerprints: Buffer; stats: ScanStats }> {
  const { source, blockSize, segmentBlocks } = inputs;
  const blocks = Math.ceil(source.size / blockSize);
  const chunkBlocks = Math.max(1, Math.min(segmentBlocks, Math.floor(CHUNK_BYTES / blockSize)));
  const chunkCount = Math.ceil(blocks / chunkBlocks);
  const chunksToRead = inputs.changed && segmentsTouched(inputs.changed, chunkBlocks * blockSize);
  const allocation = AllocationMap.of(inputs.allocated, source.size);
  const ids = Buffer.alloc(blocks * BLOCK_ID_BYTES);
  const fingerprints = Buffer.alloc(blocks * FINGERPRINT_BYTES);
  const queued = new Set<string>();
  const stats: ScanStats = { bytesScanned: 0, bytesChanged: 0, blocksNew: 0, bytesNew: 0 };
  /** Chunk buffers come back from the workers and are read into again. */
  const spare: ArrayBuffer[] = [];
  let next = 0;
  let failed = false;
  let progress = 0;

  const processChunk = async (c: number) => {
    const firstBlock = c * chunkBlocks;
    const offset = firstBlock * blockSize;
    const length = Math.min(chunkBlocks * blockSize, source.size - offset);
    const count = Math.ceil(length / blockSize);
    const segments = segmentRange(firstBlock, count, segmentBlocks);
    // The parent's segments may still be loading: read the source meanwhile.
    const parentReady = inputs.parent && parentSlices(inputs.parent, segments, firstBlock, count);
    parentReady?.catch(() => {}); // awaited below unless the read fails first
    const startFromParent = async () => {
      const parent = await parentReady;
      // The parent's map is the starting point: what this scan does not change stays as it was.
      parent?.ids.copy(ids, firstBlock * BLOCK_ID_BYTES);
      parent?.fingerprints.copy(fingerprints, firstBlock * FINGERPRINT_BYTES);
      return parent;
    };
    if (chunksToRead && !chunksToRead.has(c)) {
      await startFromParent();
      progress += length;
      inputs.onProgress?.(progress);
      return;
    }
    const allocated = allocation?.chunk(offset, length);
    if (allocated?.kind === "none") {
      // Nothing allocated here: every block is a hole (the map stays zero), known without reading.
      const parent = await parentReady;
      if (parent) stats.bytesChanged += dataBytes(parent.ids, blockSize, length);
      stats.bytesScanned += length;
      progress += length;
      inputs.onProgress?.(progress);
      return;
    }
    // A local file is read by the worker itself, into a buffer of its own that it hashes straight
    // away; other sources are read here. Of a chunk allocated in parts only those are read, and
    // the rest zero-filled.
    const local = localFileOf(source);
    const parts = allocated?.kind === "parts" ? allocated.parts : undefined;
    const chunk = local ? undefined : (spare.pop() ?? new ArrayBuffer(chunkBlocks * blockSize));
    if (chunk) await readInto(source, Buffer.from(chunk, 0, length), offset, parts);
    const parent = await startFromParent();
    const read = local && { fd: local.fd, offset, source: source.description, ...(parts ? { parts } : {}) };
    const scanned = await inputs.pool.scan(chunk, length, parent, read);
    scanned.fingerprints.copy(fingerprints, firstBlock * FINGERPRINT_BYTES);
    const stored = await inputs.stored;
    const fresh: number[] = [];
    for (let b = 0; b < count; b++) {
      const at = (firstBlock + b) * BLOCK_ID_BYTES;
      const id = scanned.ids.subarray(b * BLOCK_ID_BYTES, (b + 1) * BLOCK_ID_BYTES);
      const before = parent?.ids.subarray(b * BLOCK_ID_BYTES, (b + 1) * BLOCK_ID_BYTES);
      id.copy(ids, at);
      const blockLength = Math.min(blockSize, length - b * blockSize);
      if (before?.equals(id)) continue;
      stats.bytesChanged += id.equals(HOLE_ID) && !before ? 0 : blockLength;
      if (id.equals(HOLE_ID)) continue;
      const hex = id.toString("hex");
      if (queued.has(hex) || stored.has(hex)) continue;
      queued.add(hex);
      fresh.push(b);
      stats.blocksNew++;
      stats.bytesNew += blockLength;
    }
    stats.bytesScanned += length;
    if (scanned.released) {
      // The worker hashed no block: every one is a hole or the parent's, so none can be fresh.
      if (fresh.length > 0) throw new Error(`scan of chunk ${c} released blocks it had to seal`);
      if (scanned.chunk) spare.push(scanned.chunk);
    } else {
      const key = fresh.length > 0 ? await inputs.rotation.current() : undefined;
      const sealed = await inputs.pool.seal(scanned.worker, scanned.seq, key?.generation ?? 0, fresh);
      if (sealed.chunk) spare.push(sealed.chunk);
      await inputs.sink.accept(sealed.packs);
    }
    progress += length;
    inputs.onProgress?.(progress);
  };

  const runner = async () => {
    while (!failed && next < chunkCount) {
      const c = next++;
      try {
        await processChunk(c);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(concurrency, chunkCount) }, runner));
  const rejected = results.find((r) => r.status === "rejected");
  if (rejected) throw (rejected as PromiseRejectedResult).reason;
  await inputs.sink.accept(await inputs.pool.flush());
  return { ids, fingerprints, stats };
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

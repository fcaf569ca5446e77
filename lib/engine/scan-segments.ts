import { SourceError } from "../errors.ts";
import type { VolumeSource } from "../ports/volume-source.ts";
import type { DataKeyRotation } from "./data-keys.ts";
import { BLOCK_ID_BYTES, FINGERPRINT_BYTES } from "./layout.ts";
import { HOLE_ID, type StreamedManifest } from "./manifest.ts";
import type { PackSink } from "./pack-sink.ts";
import type { WorkerPool } from "./worker-pool.ts";

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
  /** Segments to read; the others are promised unchanged (change tracking). All when undefined. */
  readonly segmentsToRead: ReadonlySet<number> | undefined;
  /**
   * The blocks the vault already stores (by hex ID). It may still be loading when the scan
   * starts: reading and hashing the first segments does not need it, only deciding does.
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
 * Reads the source segment by segment, hashes every block in the workers, decides which blocks
 * are new (not the parent's block at that offset, not stored, not already queued in this run),
 * seals only those and hands them to the pack sink. Returns the new block map and the totals.
 * Segments are processed several at a time and may finish out of order; decisions are made on
 * the main thread, so dedup within the run needs no locks.
 */
export async function scanSegments(
  inputs: ScanInputs,
  concurrency: number,
): Promise<{ ids: Buffer; fingerprints: Buffer; stats: ScanStats }> {
  const { source, blockSize, segmentBlocks } = inputs;
  const blocks = Math.ceil(source.size / blockSize);
  const segmentCount = Math.ceil(blocks / segmentBlocks);
  const ids = Buffer.alloc(blocks * BLOCK_ID_BYTES);
  const fingerprints = Buffer.alloc(blocks * FINGERPRINT_BYTES);
  const queued = new Set<string>();
  const stats: ScanStats = { bytesScanned: 0, bytesChanged: 0, blocksNew: 0, bytesNew: 0 };
  /** Chunk buffers come back from the workers and are read into again. */
  const spare: ArrayBuffer[] = [];
  let next = 0;
  let failed = false;
  let progress = 0;

  const processSegment = async (s: number) => {
    const offset = s * segmentBlocks * blockSize;
    const length = Math.min(segmentBlocks * blockSize, source.size - offset);
    const firstBlock = s * segmentBlocks;
    const count = Math.ceil(length / blockSize);
    // The parent's segment may still be loading: read the source meanwhile.
    const parentReady = inputs.parent && parentSlices(inputs.parent, s, firstBlock, count);
    parentReady?.catch(() => {}); // awaited below unless the read fails first
    const startFromParent = async () => {
      const parent = await parentReady;
      // The parent's map is the starting point: what this scan does not change stays as it was.
      parent?.ids.copy(ids, firstBlock * BLOCK_ID_BYTES);
      parent?.fingerprints.copy(fingerprints, firstBlock * FINGERPRINT_BYTES);
      return parent;
    };
    if (inputs.segmentsToRead && !inputs.segmentsToRead.has(s)) {
      await startFromParent();
      progress += length;
      inputs.onProgress?.(progress);
      return;
    }
    const chunk = spare.pop() ?? new ArrayBuffer(segmentBlocks * blockSize);
    // A local file is read by the worker itself, into the chunk it hashes straight away; other
    // sources are read here.
    const local = source.localFile;
    if (!local) await readInto(source, chunk, offset, length);
    const parent = await startFromParent();
    const read = local && { fd: local.fd, offset, source: source.description };
    const scanned = await inputs.pool.scan(chunk, length, parent, read);
    scanned.fingerprints.copy(fingerprints, firstBlock * FINGERPRINT_BYTES);
    const stored = await inputs.stored;
    const fresh: number[] = [];
    for (let b = 0; b * blockSize < length; b++) {
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
    const key = fresh.length > 0 ? await inputs.rotation.current() : undefined;
    const sealed = await inputs.pool.seal(scanned.worker, scanned.seq, key?.generation ?? 0, fresh);
    spare.push(sealed.chunk);
    await inputs.sink.accept(sealed.packs);
    progress += length;
    inputs.onProgress?.(progress);
  };

  const runner = async () => {
    while (!failed && next < segmentCount) {
      const s = next++;
      try {
        await processSegment(s);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(concurrency, segmentCount) }, runner),
  );
  const rejected = results.find((r) => r.status === "rejected");
  if (rejected) throw (rejected as PromiseRejectedResult).reason;
  await inputs.sink.accept(await inputs.pool.flush());
  return { ids, fingerprints, stats };
}

/** Segment `s` of the parent's map, once it has loaded. */
async function parentSlices(
  parent: NonNullable<ScanInputs["parent"]>,
  s: number,
  firstBlock: number,
  count: number,
): Promise<{ ids: Buffer; fingerprints: Buffer }> {
  await parent.segmentLoaded(s);
  return {
    ids: parent.ids.subarray(firstBlock * BLOCK_ID_BYTES, (firstBlock + count) * BLOCK_ID_BYTES),
    fingerprints: parent.fingerprints.subarray(
      firstBlock * FINGERPRINT_BYTES,
      (firstBlock + count) * FINGERPRINT_BYTES,
    ),
  };
}

/** Reads `length` bytes of the source at `offset` into `chunk`. */
async function readInto(
  source: VolumeSource,
  chunk: ArrayBuffer,
  offset: number,
  length: number,
): Promise<void> {
  const view = Buffer.from(chunk, 0, length);
  const got = await source.read(offset, length, view);
  // A source may ignore `into` and return its own buffer: the bytes must end up in the chunk.
  if (got.buffer !== chunk || got.byteOffset !== 0) got.copy(view);
  if (got.length !== length) {
    throw new SourceError(
      `${source.description}: read ${got.length} bytes at offset ${offset}, expected ${length}`,
    );
  }
}

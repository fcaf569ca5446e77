/**
 * Worker thread for the CPU-heavy work on blocks: zero detection and keyed hashing on backup,
 * compression and encryption of new blocks straight into packs, and decryption plus
 * verification on restore. The main thread does I/O and bookkeeping. Buffers travel by transfer
 * and come back for reuse, so a backup allocates a few buffers, not one per block.
 */
import { createSecretKey, type KeyObject } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import { Fingerprinter } from "../backup/fingerprint.ts";
import { blockId } from "../pack/blob.ts";
import { BlockCompressor } from "../pack/block-compressor.ts";
import { BLOCK_ID_BYTES, FINGERPRINT_BYTES } from "../store/layout.ts";
import { exposeGc } from "./worker-gc.ts";
import { holdingLock, openItems, writePlacements } from "./worker-open.ts";
import { PackFiller, type WorkerDataKey } from "./worker-packs.ts";
import {
  movable,
  unpackItems,
  unpackPlacements,
  type WorkerPack,
  type WorkerReply,
  type WorkerRequest,
} from "./worker-protocol.ts";
import { readObjectRange, readSource } from "./worker-reads.ts";

// gc() for this worker's code only (see worker-gc.ts for why the flag does not stay on).
const collect = exposeGc((workerData as { gcFlagLock: Int32Array }).gcFlagLock);
const MAJOR_GC_SPACING = 4;
let heavyMessages = 0;
let scans = 0;
let seals = 0;
let opens = 0;
/** Resident memory above which workers collect fully; BLOCKVAULT_MEMORY_MIB overrides. */
const memoryBudget = (Number(process.env.BLOCKVAULT_MEMORY_MIB) || 260) * 1024 * 1024;
const port = parentPort;
if (!port) throw new Error("block-worker must run in a worker thread");

let blockIdKey: KeyObject | undefined;
let fingerprinter: Fingerprinter | undefined;
let filler: PackFiller | undefined;
let blockSize = 0;
let zeros = Buffer.alloc(0);
let writeLock = new Int32Array(new SharedArrayBuffer(4));
const dataKeys = new Map<number, WorkerDataKey>();
/** Chunks scanned but not yet sealed, by sequence number. */
const held = new Map<number, { data: Buffer; ids: Buffer; own: boolean }>();
/**
 * Chunk buffers of this worker's own, for the chunks it reads itself. Buffers that crossed threads
 * count as new external memory in each isolate they reach until a collection, and at two
 * crossings per 4 MiB chunk that alone kept the main thread's collector busy.
 */
const ownChunks: ArrayBuffer[] = [];
/** A chunk buffer of this worker's own with room for `length` bytes. */
function ownChunk(length: number): ArrayBuffer {
  const i = ownChunks.findIndex((b) => b.byteLength >= length);
  return i >= 0 ? ownChunks.splice(i, 1)[0]! : new ArrayBuffer(length);
}

function seal(seq: number, generation: number, blocks: number[]): WorkerReply {
  const chunk = held.get(seq);
  held.delete(seq);
  if (!chunk) throw new Error(`no scanned chunk ${seq} to seal`);
  const packs: WorkerPack[] = [];
  for (const b of blocks) {
    const block = chunk.data.subarray(b * blockSize, Math.min(chunk.data.length, (b + 1) * blockSize));
    const id = chunk.ids.subarray(b * BLOCK_ID_BYTES, (b + 1) * BLOCK_ID_BYTES);
    filler!.add(generation, id, block, packs);
  }
  filler!.finishIfFull(packs);
  if (chunk.own) {
    ownChunks.push(chunk.data.buffer as ArrayBuffer);
    return { type: "sealed", seq, packs };
  }
  return { type: "sealed", seq, chunk: chunk.data.buffer as ArrayBuffer, packs };
}

function scan(msg: Extract<WorkerRequest, { type: "scan" }>): WorkerReply {
  const { seq, length } = msg;
  const own = msg.buffer === undefined;
  const buffer = msg.buffer ?? ownChunk(length);
  const data = Buffer.from(buffer, 0, length);
  if (msg.read) readSource(msg.read, data);
  else if (own) throw new Error(`scan ${seq} has neither bytes nor a file to read`);
  const count = Math.ceil(length / blockSize);
  const blocks = Array.from({ length: count }, (_, i) => {
    const block = data.subarray(i * blockSize, Math.min(length, (i + 1) * blockSize));
    return block.equals(zeros.subarray(0, block.length)) ? undefined : block; // undefined: a hole
  });
  const fingerprints = fingerprinter!.fingerprints(count, (i) => blocks[i]);
  const ids = Buffer.alloc(count * BLOCK_ID_BYTES);
  const parentIds =
    msg.parentIds && Buffer.from(msg.parentIds.buffer, msg.parentIds.byteOffset, msg.parentIds.length);
  const parentFps =
    msg.parentFingerprints &&
    Buffer.from(
      msg.parentFingerprints.buffer,
      msg.parentFingerprints.byteOffset,
      msg.parentFingerprints.length,
    );
  let hashed = 0;
  for (let i = 0; i < count; i++) {
    const block = blocks[i];
    if (!block) continue; // a hole keeps the all-zero ID
    const idAt = i * BLOCK_ID_BYTES;
    const fpAt = i * FINGERPRINT_BYTES;
    // Same fingerprint as the parent's block here: unchanged, so its ID is the parent's (the
    // parent's slot is a real block, not a hole, or its fingerprint would be all zero).
    const unchanged = parentFps
      ?.subarray(fpAt, fpAt + FINGERPRINT_BYTES)
      .equals(fingerprints.subarray(fpAt, fpAt + FINGERPRINT_BYTES));
    if (unchanged) parentIds!.copy(ids, idAt, idAt, idAt + BLOCK_ID_BYTES);
    else {
      blockId(blockIdKey!, block).copy(ids, idAt);
      hashed++;
    }
  }
  const reply = {
    type: "scanned",
    seq,
    ids: ids.buffer.slice(ids.byteOffset, ids.byteOffset + ids.length),
    fingerprints: new Uint8Array(fingerprints).buffer,
  } as const;
  // Only holes and the parent's own blocks: the engine can have nothing to seal, so the chunk is
  // released now instead of on a seal request (most of an incremental's chunks).
  if (hashed > 0) {
    held.set(seq, { data, ids, own });
    return { ...reply, released: false };
  }
  if (own) {
    ownChunks.push(buffer as ArrayBuffer);
    return { ...reply, released: true };
  }
  return { ...reply, released: true, chunk: buffer as ArrayBuffer };
}

function openBlobs(msg: Extract<WorkerRequest, { type: "open" }>): WorkerReply {
  const data = msg.source instanceof ArrayBuffer ? Buffer.from(msg.source) : readObjectRange(msg.source);
  const items = unpackItems(msg.items);
  const opened = openItems(createSecretKey(msg.key), blockIdKey!, data, items, () =>
    collect({ type: "minor" }),
  );
  if (msg.fd !== undefined && msg.placements) {
    const { fd } = msg;
    const placements = unpackPlacements(msg.placements);
    return {
      type: "written",
      seq: msg.seq,
      bytes: holdingLock(writeLock, () => writePlacements(fd, opened, placements)),
    };
  }
  // A buffer of its own, to transfer: pooled small Buffers share theirs.
  const buffer = new ArrayBuffer(opened.reduce((n, b) => n + b.length, 0));
  const view = Buffer.from(buffer);
  let at = 0;
  for (const b of opened) at += b.copy(view, at);
  return {
    type: "opened",
    seq: msg.seq,
    buffer,
    lengths: items.map((i) => i.rawLength),
  };
}

function handle(msg: WorkerRequest): WorkerReply | Promise<WorkerReply> | undefined {
  switch (msg.type) {
    case "init":
      blockIdKey = createSecretKey(msg.blockIdKey);
      fingerprinter = new Fingerprinter(
        createSecretKey(msg.fingerprintKeys[0]),
        createSecretKey(msg.fingerprintKeys[1]),
      );
      filler = new PackFiller(
        msg.packTarget,
        msg.blockSize,
        new BlockCompressor(msg.zstdLevel, msg.blockSize),
        (generation) => dataKeys.get(generation),
      );
      blockSize = msg.blockSize;
      zeros = Buffer.alloc(blockSize);
      writeLock = new Int32Array(msg.writeLock);
      return undefined;
    case "key":
      dataKeys.set(msg.generation, {
        key: createSecretKey(msg.key),
        wrapped: msg.wrapped,
        masterKeyId: msg.masterKeyId,
      });
      return undefined;
    case "recycle":
      filler!.recycle(msg.buffer);
      return undefined;
    case "stage":
      filler!.stageInto(msg.directory);
      return undefined;
    case "scan":
      return scan(msg);
    case "seal":
      return seal(msg.seq, msg.generation, msg.blocks);
    case "flush": {
      const packs: WorkerPack[] = [];
      filler!.finish(packs);
      return { type: "flushed", seq: msg.seq, packs };
    }
    case "open":
      return openBlobs(msg);
    case "close":
      return (filler?.settle() ?? Promise.resolve()).then(() => ({ type: "closed", seq: msg.seq }) as const);
  }
}

/**
 * `reply` once the packs it reports are complete in their files: uncached pack writes finish in
 * the background, and a pack is only reported when all of its bytes are written.
 */
function whenWritten(reply: WorkerReply | Promise<WorkerReply> | undefined) {
  const writes = filler?.takeWrites() ?? [];
  if (writes.length === 0) return reply;
  return Promise.all(writes).then(() => reply);
}

/**
 * Sealing and opening leave megabytes of short-lived crypto and zstd output behind per message,
 * which V8 would let pile up to its external-memory limit. A young-generation collection after
 * each message is cheap; when the whole process is above its memory budget anyway, a full
 * collection (at most every few messages, as it costs more) returns what was promoted.
 */
function afterHeavyMessage(): void {
  heavyMessages++;
  // Reading the resident size means reading /proc (about half a millisecond here with many
  // threads): only every few messages, which also spaces the full collections.
  if (heavyMessages % MAJOR_GC_SPACING === 0 && process.memoryUsage.rss() > memoryBudget) {
    collect({ type: "major" });
  } else collect({ type: "minor" });
}

function transferList(reply: WorkerReply): ArrayBuffer[] {
  switch (reply.type) {
    case "scanned":
      return movable([reply.ids, reply.fingerprints, reply.chunk]);
    case "sealed":
      // A pack that outgrew its shared buffer is in a plain one: that is transferred.
      return movable([reply.chunk, ...reply.packs.map((p) => p.buffer)]);
    case "flushed":
      return movable(reply.packs.map((p) => p.buffer));
    case "opened":
      return [reply.buffer];
    default:
      return [];
  }
}

function replyError(msg: WorkerRequest, err: unknown): void {
  const e = err as Error & { code?: string };
  const seq = "seq" in msg ? msg.seq : -1;
  port!.postMessage({
    type: "error",
    seq,
    name: e.name,
    message: e.message,
    code: e.code ?? "",
  } satisfies WorkerReply);
}

port.on("message", (msg: WorkerRequest) => {
  try {
    const reply = whenWritten(handle(msg));
    if (reply instanceof Promise) {
      reply.then(
        (r) => r && port.postMessage(r, transferList(r)),
        (err) => replyError(msg, err),
      );
    } else if (reply) port.postMessage(reply, transferList(reply));
    // A seal of no blocks (most of an incremental) made no garbage worth collecting. Scans do,
    // out of V8's sight: every fingerprint is a native GCM context V8 counts as a few bytes,
    // so without a collection now and then an 8 GiB incremental held 460 MiB of them. An open
    // leaves at most 4 MiB (2 MiB opened, as much decrypted) and a seal its blocks' cipher
    // output (up to 4 MiB): collecting after every second one is faster than after each, for a
    // little more memory (docs/design.md, "Measured choices").
    const heavy =
      msg.type === "seal"
        ? msg.blocks.length > 0 && ++seals % 2 === 0
        : (msg.type === "open" && ++opens % 2 === 0) || (msg.type === "scan" && ++scans % 4 === 0);
    if (heavy) afterHeavyMessage();
  } catch (err) {
    replyError(msg, err);
  }
});

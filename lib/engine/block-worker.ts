/**
 * Worker thread for the CPU-heavy work on blocks: zero detection and keyed hashing on backup,
 * compression and encryption of new blocks, and decryption plus verification on restore. The
 * main thread does I/O and bookkeeping; a pool of these uses the other cores.
 */
import { parentPort } from "node:worker_threads";
import { blockId, openBlock, sealBlock } from "./blob.ts";
import type { WorkerReply, WorkerRequest } from "./worker-protocol.ts";

const port = parentPort;
if (!port) throw new Error("block-worker must run in a worker thread");

let blockIdKey = Buffer.alloc(0);
let zstdLevel = 3;
const dataKeys = new Map<number, Buffer>();
/** Chunks scanned but not yet sealed, by sequence number. */
const held = new Map<number, { data: Buffer; blockSize: number; ids: Buffer }>();
let zeros = Buffer.alloc(0);

function concat(parts: Buffer[]): { buffer: ArrayBuffer; lengths: number[] } {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const buffer = new ArrayBuffer(total);
  const view = Buffer.from(buffer);
  let at = 0;
  for (const p of parts) at += p.copy(view, at);
  return { buffer, lengths: parts.map((p) => p.length) };
}

function handle(msg: WorkerRequest): WorkerReply | undefined {
  switch (msg.type) {
    case "init":
      blockIdKey = Buffer.from(msg.blockIdKey);
      zstdLevel = msg.zstdLevel;
      return undefined;
    case "key":
      dataKeys.set(msg.generation, Buffer.from(msg.key));
      return undefined;
    case "scan": {
      const data = Buffer.from(msg.buffer, 0, msg.length);
      if (zeros.length < msg.blockSize) zeros = Buffer.alloc(msg.blockSize);
      const count = Math.ceil(msg.length / msg.blockSize);
      const ids = Buffer.alloc(count * 32);
      for (let i = 0; i < count; i++) {
        const block = data.subarray(i * msg.blockSize, Math.min(msg.length, (i + 1) * msg.blockSize));
        if (block.equals(zeros.subarray(0, block.length))) continue; // a hole keeps the all-zero ID
        blockId(blockIdKey, block).copy(ids, i * 32);
      }
      held.set(msg.seq, { data, blockSize: msg.blockSize, ids });
      return { type: "scanned", seq: msg.seq, ids: ids.buffer.slice(ids.byteOffset, ids.byteOffset + ids.length) };
    }
    case "seal": {
      const chunk = held.get(msg.seq);
      held.delete(msg.seq);
      if (!chunk) throw new Error(`no scanned chunk ${msg.seq} to seal`);
      const key = dataKeys.get(msg.generation);
      if (!key && msg.blocks.length > 0) throw new Error(`data key generation ${msg.generation} was never sent`);
      const sealed = msg.blocks.map((b) => {
        const block = chunk.data.subarray(b * chunk.blockSize, Math.min(chunk.data.length, (b + 1) * chunk.blockSize));
        return sealBlock(key!, chunk.ids.subarray(b * 32, b * 32 + 32), block, zstdLevel);
      });
      const { buffer, lengths } = concat(sealed);
      return { type: "sealed", seq: msg.seq, buffer, lengths };
    }
    case "open": {
      const key = Buffer.from(msg.key);
      const data = Buffer.from(msg.buffer);
      const opened = msg.items.map((item) =>
        openBlock(key, blockIdKey, Buffer.from(item.id, "hex"), data.subarray(item.offset, item.offset + item.length), item.rawLength),
      );
      const { buffer, lengths } = concat(opened);
      return { type: "opened", seq: msg.seq, buffer, lengths };
    }
  }
}

port.on("message", (msg: WorkerRequest) => {
  try {
    const reply = handle(msg);
    if (!reply) return;
    const transfer = "buffer" in reply ? [reply.buffer] : reply.type === "scanned" ? [reply.ids] : [];
    port.postMessage(reply, transfer);
  } catch (err) {
    const e = err as Error & { code?: string };
    const seq = "seq" in msg ? msg.seq : -1;
    port.postMessage({ type: "error", seq, name: e.name, message: e.message, code: e.code ?? "" } satisfies WorkerReply);
  }
});

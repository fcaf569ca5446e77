import type { KeyObject } from "node:crypto";
import { openBlock } from "../pack/blob.ts";
import { writePieces } from "../restore/write-pieces.ts";
import { MAX_OPENED_BYTES, type Placement, type UnpackedItem } from "./worker-protocol.ts";

/** Blocks opened between calls of the `afterBlocks` hook (the worker collects garbage there). */
const COLLECT_EVERY = 64;

/** Buffers a single positional write hands the kernel at most (Linux's IOV_MAX). */
const MAX_IOVECS = 1024;

/**
 * Bytes of this thread's buffer that compressed blocks are opened into: what one open request
 * holds at most, and the one byte of room zstd needs to show a frame holding more. A fresh
 * buffer per block cost an allocation, its page faults and its collection, thousands of times a
 * second.
 */
const SCRATCH_BYTES = MAX_OPENED_BYTES + 1;
let scratch: Buffer | undefined;

/**
 * Opens and verifies every item of `data`; returns each item's bytes. Nothing is returned
 * unless every item verified. The bytes may be views of this thread's scratch buffer: they are
 * valid until the next call.
 */
export function openItems(
  key: KeyObject,
  blockIdKey: KeyObject,
  data: Buffer,
  items: readonly UnpackedItem[],
  afterBlocks: () => void = () => {},
): Buffer[] {
  scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  const opened: Buffer[] = [];
  let used = 0;
  for (const item of items) {
    const sealed = data.subarray(item.offset, item.offset + item.length);
    const room = scratch.subarray(used);
    const block = openBlock(key, blockIdKey, item.id, sealed, item.rawLength, room);
    // Only a compressed block went into the scratch buffer (a stored one is the cipher's output).
    if (block.buffer === room.buffer && block.byteOffset === room.byteOffset) used += block.length;
    opened.push(block);
    if (opened.length % COLLECT_EVERY === 0) afterBlocks();
  }
  return opened;
}

/**
 * Writes placements of opened items to `fd` with positional writes straight from the opened
 * buffers (no copy into one buffer first): placements that follow each other in the file go out
 * together, as one vectored write.
 */
export function writePlacements(
  fd: number,
  opened: readonly Buffer[],
  placements: readonly Placement[],
): number {
  const sorted = [...placements].sort((a, b) => a.to - b.to);
  let written = 0;
  let run: { to: number; length: number; parts: Buffer[] } | undefined;
  const flush = () => {
    if (!run) return;
    writePieces(fd, run.parts, run.to);
    written += run.length;
  };
  for (const p of sorted) {
    const part = opened[p.item]!.subarray(p.from, p.from + p.length);
    if (run && run.to + run.length === p.to && run.parts.length < MAX_IOVECS) {
      run.parts.push(part);
      run.length += p.length;
    } else {
      flush();
      run = { to: p.to, length: p.length, parts: [part] };
    }
  }
  flush();
  return written;
}

/**
 * Runs `fn` holding the lock in `lock[0]` (0 free, 1 held), shared by a pool's workers. The kernel
 * serialises writes to one file anyway (its inode lock), and a thread that finds it taken spins
 * on it before sleeping: burning the CPU the other worker needs. Waiting here sleeps at once.
 */
export function holdingLock<T>(lock: Int32Array, fn: () => T): T {
  while (Atomics.compareExchange(lock, 0, 0, 1) !== 0) Atomics.wait(lock, 0, 1, 1000);
  try {
    return fn();
  } finally {
    Atomics.store(lock, 0, 0);
    Atomics.notify(lock, 0, 1);
  }
}

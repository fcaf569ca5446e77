import type { KeyObject } from "node:crypto";
import { writeSync } from "node:fs";
import { openBlock } from "./blob.ts";
import type { OpenItem, Placement } from "./worker-protocol.ts";

/** Blocks opened between calls of the `afterBlocks` hook (the worker collects garbage there). */
const COLLECT_EVERY = 64;

/** Scratch space for opened blocks, kept across messages so a restore allocates it once. */
let scratch = Buffer.alloc(0);

/**
 * Opens and verifies every item of `data` into the worker's scratch buffer; returns the buffer
 * and where each item starts in it. Valid until the next call.
 */
export function openItems(
  key: KeyObject,
  blockIdKey: KeyObject,
  data: Buffer,
  items: readonly OpenItem[],
  afterBlocks: () => void = () => {},
) {
  const total = items.reduce((n, item) => n + item.rawLength, 0);
  if (scratch.length < total) scratch = Buffer.allocUnsafeSlow(total);
  const starts: number[] = [];
  let at = 0;
  for (const item of items) {
    starts.push(at);
    const sealed = data.subarray(item.offset, item.offset + item.length);
    at += openBlock(key, blockIdKey, Buffer.from(item.id, "hex"), sealed, item.rawLength).copy(scratch, at);
    if (starts.length % COLLECT_EVERY === 0) afterBlocks();
  }
  return { opened: scratch.subarray(0, total), starts };
}

/**
 * Writes placements of opened items to `fd` with positional writes, merging placements that are
 * contiguous both in the scratch buffer and in the file into one write.
 */
export function writePlacements(
  fd: number,
  opened: Buffer,
  starts: readonly number[],
  placements: readonly Placement[],
): number {
  const sorted = [...placements].sort((a, b) => a.to - b.to);
  let written = 0;
  let run: { src: number; to: number; length: number } | undefined;
  const flush = () => {
    if (!run) return;
    let done = 0;
    while (done < run.length) done += writeSync(fd, opened, run.src + done, run.length - done, run.to + done);
    written += run.length;
  };
  for (const p of sorted) {
    const src = starts[p.item]! + p.from;
    if (run && run.to + run.length === p.to && run.src + run.length === src) run.length += p.length;
    else {
      flush();
      run = { src, to: p.to, length: p.length };
    }
  }
  flush();
  return written;
}

import { createSecretKey, randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blockId, sealBlock } from "../../../lib/engine/pack/blob.ts";
import { BlockCompressor } from "../../../lib/engine/pack/block-compressor.ts";
import { holdingLock, openItems, writePlacements } from "../../../lib/engine/workers/worker-open.ts";
import type { Placement, UnpackedItem } from "../../../lib/engine/workers/worker-protocol.ts";
import { IntegrityError } from "../../../lib/errors.ts";
import { seededBytes, seededText } from "../../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../../helpers/temp-dir.ts";

let dir: string;
beforeEach(async () => {
  dir = await tempDir("worker-open");
});
afterEach(async () => {
  await removeDir(dir);
});

/** Writes the placements into a fresh file of `size` bytes; returns its bytes and the count. */
function writeFile(
  size: number,
  opened: Buffer[],
  placements: Placement[],
): { bytes: Buffer; written: number } {
  const path = join(dir, `t-${Math.random()}.img`);
  const fd = openSync(path, "w+");
  try {
    const written = writePlacements(fd, opened, placements);
    const bytes = Buffer.alloc(size);
    bytes.set(readFileSync(path).subarray(0, size));
    return { bytes, written };
  } finally {
    closeSync(fd);
  }
}

const BLOCK = 128 * 1024;
const dataKey = createSecretKey(randomBytes(32));
const idKey = createSecretKey(randomBytes(32));
const compressor = new BlockCompressor(3, BLOCK);

/** The blocks sealed back to back, as in a pack, and the items that find them. */
function sealedRun(blocks: Buffer[]): { data: Buffer; items: UnpackedItem[] } {
  const items: UnpackedItem[] = [];
  const sealed = blocks.map((block) => {
    const id = blockId(idKey, block);
    const bytes = sealBlock(dataKey, id, block, compressor);
    const offset = items.reduce((n, i) => n + i.length, 0);
    items.push({ id, offset, length: bytes.length, rawLength: block.length });
    return bytes;
  });
  return { data: Buffer.concat(sealed), items };
}

describe("openItems", () => {
  it("opens compressed and stored blocks, more of them than its scratch buffer holds, call after call", () => {
    // 24 compressible blocks (3 MiB opened) overflow the 2 MiB scratch buffer; random blocks are
    // stored as they are and never use it.
    const first = Array.from({ length: 24 }, (_, i) =>
      i % 5 === 4 ? seededBytes(i, BLOCK) : seededText(i, BLOCK),
    );
    const second = Array.from({ length: 6 }, (_, i) => seededText(100 + i, i === 5 ? 1000 : BLOCK));
    const a = sealedRun(first);
    const openedA = openItems(dataKey, idKey, a.data, a.items).map((b) => Buffer.from(b));
    expect(openedA).toEqual(first);
    const b = sealedRun(second);
    expect(openItems(dataKey, idKey, b.data, b.items)).toEqual(second);
  });

  it("returns nothing when one block fails to verify, and opens the next call's blocks as before", () => {
    const blocks = [seededText(1, BLOCK), seededText(2, BLOCK), seededText(3, BLOCK)];
    const { data, items } = sealedRun(blocks);
    const damaged = Buffer.from(data);
    damaged[items[2]!.offset + 5]! ^= 1;
    expect(() => openItems(dataKey, idKey, damaged, items)).toThrow(IntegrityError);
    expect(openItems(dataKey, idKey, data, items)).toEqual(blocks);
  });
});

describe("writePlacements", () => {
  it("writes every placement where it belongs, in any order, the same item in several places", () => {
    const opened = [seededBytes(1, 100), seededBytes(2, 50)];
    const placements: Placement[] = [
      { item: 1, from: 10, length: 40, to: 300 },
      { item: 0, from: 0, length: 100, to: 0 },
      { item: 0, from: 0, length: 100, to: 100 }, // contiguous with the previous one in the file
      { item: 1, from: 0, length: 10, to: 250 }, // a gap before it: a separate write
    ];
    const { bytes, written } = writeFile(340, opened, placements);
    expect(written).toBe(250);
    const expected = Buffer.alloc(340);
    opened[0]!.copy(expected, 0);
    opened[0]!.copy(expected, 100);
    opened[1]!.copy(expected, 250, 0, 10);
    opened[1]!.copy(expected, 300, 10, 50);
    expect(bytes).toEqual(expected);
  });

  it("splits a run of more pieces than one vectored write takes", () => {
    const pieces = 3000;
    const opened = Array.from({ length: pieces }, (_, i) => seededBytes(i, 7));
    const placements = opened.map((_, i) => ({ item: i, from: 0, length: 7, to: i * 7 }));
    const { bytes, written } = writeFile(pieces * 7, opened, placements);
    expect(written).toBe(pieces * 7);
    expect(bytes).toEqual(Buffer.concat(opened));
  });
});

describe("holdingLock", () => {
  it("returns what the function returns and frees the lock, also when it throws", () => {
    const lock = new Int32Array(new SharedArrayBuffer(4));
    expect(holdingLock(lock, () => 42)).toBe(42);
    expect(lock[0]).toBe(0);
    expect(() =>
      holdingLock(lock, () => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(lock[0]).toBe(0);
  });

  it("lets one thread at a time in: no update of a shared counter is lost", async () => {
    const shared = new SharedArrayBuffer(8);
    const module = new URL("../../../lib/engine/workers/worker-open.ts", import.meta.url).href;
    // Each thread reads the counter, yields, then writes it back plus one: without mutual
    // exclusion the two threads overwrite each other's increments.
    const code = `
      const { workerData, parentPort } = require("node:worker_threads");
      import(workerData.module).then(({ holdingLock }) => {
        const lock = new Int32Array(workerData.shared, 0, 1);
        const counter = new Int32Array(workerData.shared, 4, 1);
        for (let i = 0; i < 2000; i++) {
          holdingLock(lock, () => {
            const seen = Atomics.load(counter, 0);
            for (let spin = 0; spin < 200; spin++) Math.sqrt(spin);
            Atomics.store(counter, 0, seen + 1);
          });
        }
        parentPort.postMessage("done");
      });
    `;
    const run = () =>
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(code, { eval: true, workerData: { shared, module } });
        worker.once("message", () => resolve());
        worker.once("error", reject);
      });
    await Promise.all([run(), run()]);
    expect(new Int32Array(shared, 4, 1)[0]).toBe(4000);
  });
});

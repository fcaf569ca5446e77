import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writePlacements } from "../../../lib/engine/worker-open.ts";
import type { Placement } from "../../../lib/engine/worker-protocol.ts";
import { seededBytes } from "../../helpers/image-bytes.ts";
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

import { closeSync, openSync } from "node:fs";
import { mkdtemp, open, rm, statfs, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allocatedExtents,
  MAPPED_FILESYSTEMS,
  parseFilefrag,
} from "../../../lib/adapters/local/sources/extent-map.ts";

const MIB = 1024 * 1024;

/** `filefrag -s -e` output as e2fsprogs prints it, for a file of `bytes` in 4 KiB blocks. */
function output(bytes: number, extents: string[], unit = 4096): string {
  return [
    "Filesystem type is: ef53",
    `File size of /proc/self/fd/3 is ${bytes} (${Math.ceil(bytes / unit)} blocks of ${unit} bytes)`,
    " ext:     logical_offset:        physical_offset: length:   expected: flags:",
    ...extents,
    `/proc/self/fd/3: ${extents.length} extents found`,
    "",
  ].join("\n");
}

describe("filefrag output", () => {
  const size = 64 * MIB;

  it("gives each extent's logical range in bytes, in the unit of the size line", () => {
    const text = output(size, [
      "   0:     1280..    1535:   61525248..  61525503:    256:       1280:",
      "   1:     2562..    2562:   61526530..  61526530:      1:             last,eof",
    ]);
    expect(parseFilefrag(text, size, size)).toEqual([
      { offset: 5 * MIB, length: MIB },
      { offset: 2562 * 4096, length: 4096 },
    ]);
    const in512 = output(
      size,
      ["   0:    10240..   12287:          0..         0:      0:             unknown_loc,delalloc"],
      512,
    );
    expect(parseFilefrag(in512, size, size)).toEqual([{ offset: 5 * MIB, length: MIB }]);
  });

  it("merges extents that follow each other and clips them to the volume (a VHD's footer)", () => {
    const text = output(size + 512, [
      "   0:        0..     255:      34816..     35071:    256:",
      "   1:      256..     511:      99999..    100254:    256:      35072:",
      "   2:    16383..   16383:     100255..    100255:      1:             last,unwritten,eof",
    ]);
    expect(parseFilefrag(text, size + 512, size)).toEqual([
      { offset: 0, length: 2 * MIB },
      { offset: size - 4096, length: 4096 },
    ]);
  });

  it("reads a file without extents (all holes) as no ranges", () => {
    const text = [
      "Filesystem type is: ef53",
      `File size of /proc/self/fd/3 is ${size} (16384 blocks of 4096 bytes)`,
      "/proc/self/fd/3: 0 extents found",
    ].join("\n");
    expect(parseFilefrag(text, size, size)).toEqual([]);
  });

  it("refuses anything it cannot account for: the map is then not used", () => {
    const good = "   0:        0..     255:      34816..     35071:    256:";
    const cases = [
      output(size + 4096, [good]), // another file size than the open file's
      output(size, [good]).replace("16384 blocks", "16000 blocks"), // blocks and unit disagree
      output(size, [good, "   1:   garbage"]),
      output(size, [good, "   2:      512..     767:      40000..     40255:    256:"]), // a gap in numbering
      output(size, [
        "   0:      512..     767:      40000..     40255:    256:",
        "   1:        0..     255:      34816..     35071:    256:",
      ]), // out of order
      output(size, ["   0:      255..       0:      34816..     35071:    256:"]), // ends before it starts
      "/proc/self/fd/3: FIBMAP/FIEMAP unsupported\n",
      "",
    ];
    for (const text of cases) expect(parseFilefrag(text, size, size)).toBeUndefined();
  });
});

describe("extent map of a real file", () => {
  let dir: string;
  let mapped: boolean;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "bv-extents-"));
    const type = (await statfs(dir)).type;
    mapped = (Object.values(MAPPED_FILESYSTEMS) as number[]).includes(type);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function extentsOf(path: string, size: number) {
    const fd = openSync(path, "r");
    try {
      return await allocatedExtents(fd, size);
    } finally {
      closeSync(fd);
    }
  }

  it("covers every byte that is not zero in a sparse file, and leaves its large holes out", async () => {
    const size = 16 * MIB;
    const piece = fc.record({ offset: fc.nat(size - 1), length: fc.integer({ min: 1, max: 300_000 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { minLength: 1, maxLength: 8 }), async (pieces) => {
        const path = join(dir, "sparse.img");
        await rm(path, { force: true });
        await writeFile(path, "");
        await truncate(path, size);
        const file = await open(path, "r+");
        const image = Buffer.alloc(size);
        for (const p of pieces) {
          const bytes = Buffer.alloc(Math.min(p.length, size - p.offset), 0xa5);
          bytes.copy(image, p.offset);
          await file.write(bytes, 0, bytes.length, p.offset);
        }
        await file.close();
        const ranges = await extentsOf(path, size);
        if (!mapped) {
          expect(ranges).toBeUndefined();
          return;
        }
        expect(ranges).toBeDefined();
        const covered = Buffer.alloc(size);
        for (const r of ranges!) covered.fill(1, r.offset, r.offset + r.length);
        let uncovered = 0;
        for (let i = 0; i < size; i++) if (image[i] !== 0 && covered[i] === 0) uncovered++;
        expect(uncovered).toBe(0);
        // Allocation is in filesystem blocks: what is mapped is near what was written.
        const written = pieces.reduce((n, p) => n + Math.min(p.length, size - p.offset), 0);
        const total = ranges!.reduce((n, r) => n + r.length, 0);
        expect(total).toBeLessThanOrEqual(written + pieces.length * 2 * 65536);
      }),
      { numRuns: 12 },
    );
  });

  it("maps an image that is only holes as no ranges, when the filesystem can tell", async () => {
    const path = join(dir, "empty.img");
    await writeFile(path, "");
    await truncate(path, 8 * MIB);
    expect(await extentsOf(path, 8 * MIB)).toEqual(mapped ? [] : undefined);
  });

  it("has no map for what is not a regular file", async () => {
    const fd = openSync("/dev/null", "r");
    try {
      expect(await allocatedExtents(fd, 1024)).toBeUndefined();
    } finally {
      closeSync(fd);
    }
  });
});

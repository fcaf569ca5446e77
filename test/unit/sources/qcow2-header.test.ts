import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openFileSource } from "../../../lib/adapters/local/sources/file-source.ts";
import { SourceError, ValidationError } from "../../../lib/errors.ts";
import { qemuImg, qemuWrite } from "../../helpers/qemu.ts";
import { removeDir, tempDir } from "../../helpers/temp-dir.ts";

let dir: string;
let good: Buffer;

beforeAll(async () => {
  dir = await tempDir("qcow2-header");
  const path = join(dir, "good.qcow2");
  qemuImg("create", "-q", "-f", "qcow2", "-o", "compat=1.1", path, "8M");
  qemuWrite(path, "qcow2", [{ offset: 65536, length: 4096, pattern: 0x5a }]);
  good = await readFile(path);
});

afterAll(() => removeDir(dir));

/** The good image with `edit` applied, written to a file of its own. */
async function variant(name: string, edit: (image: Buffer) => unknown): Promise<string> {
  const bytes = Buffer.from(good);
  const path = join(dir, name);
  const edited = edit(bytes);
  await writeFile(path, edited instanceof Buffer ? edited : bytes);
  return path;
}

async function refusal(path: string): Promise<Error> {
  try {
    const source = await openFileSource(path);
    try {
      await source.read(0, source.size);
    } finally {
      await source.close();
    }
  } catch (err) {
    return err as Error;
  }
  throw new Error(`${path} was accepted`);
}

describe("qcow2 headers that are bad or truncated are refused naming the format and the field", () => {
  it.each([
    [
      "cluster_bits",
      (b: Buffer) => void b.writeUInt32BE(40, 20),
      "qcow2 header: cluster_bits 40 out of range 9..21",
    ],
    ["version", (b: Buffer) => void b.writeUInt32BE(4, 4), "qcow2 header: version 4 is not 2 or 3"],
    ["crypt_method", (b: Buffer) => void b.writeUInt32BE(2, 32), "qcow2 header: crypt_method 2"],
    ["l1_size", (b: Buffer) => void b.writeUInt32BE(0, 36), "qcow2 header: l1_size 0 is too small"],
    [
      "l1_table_offset",
      (b: Buffer) => void b.writeBigUInt64BE(12345n, 40),
      "qcow2 header: l1_table_offset 12345 is not cluster-aligned",
    ],
    [
      "incompatible_features",
      (b: Buffer) => void b.writeBigUInt64BE(1n << 40n, 72),
      "qcow2 header: incompatible_features has unknown bits 0x10000000000",
    ],
    [
      "header_length",
      (b: Buffer) => void b.writeUInt32BE(101, 100),
      "qcow2 header: header_length 101 is not a multiple of 8",
    ],
    [
      "backing_file_size",
      (b: Buffer) => {
        b.writeBigUInt64BE(512n, 8);
        b.writeUInt32BE(5000, 16);
      },
      "qcow2 header: backing_file_size 5000 out of range 1..1023",
    ],
  ])("%s", async (field, edit, message) => {
    const path = await variant(`${field}.qcow2`, edit);
    const err = await refusal(path);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain(message);
    expect(err.message).toContain(path);
    expect(err.message).not.toContain("\n");
  });

  it("a file cut inside the header or the L1 table", async () => {
    const short = await variant("short.qcow2", (b) => b.subarray(0, 60));
    expect((await refusal(short)).message).toMatch(
      /^qcow2 header: file is 60 bytes, shorter than the 72-byte/,
    );
    const l1Offset = Number(good.readBigUInt64BE(40));
    const cut = await variant("cut.qcow2", (b) => b.subarray(0, l1Offset + 4));
    expect((await refusal(cut)).message).toMatch(
      /^qcow2 header: l1_table_offset \d+ with l1_size \d+ lies outside/,
    );
  });

  it("an L1 entry pointing past the end of the file is refused on read", async () => {
    const l1Offset = Number(good.readBigUInt64BE(40));
    const path = await variant("l1-past-end.qcow2", (b) => void b.writeBigUInt64BE(1n << 40n, l1Offset));
    const err = await refusal(path);
    expect(err.message).toMatch(/^qcow2 L1 table: entry 0 points at 1099511627776, past the end of the file/);
  });

  it("an L2 entry pointing between clusters is refused on read", async () => {
    const l1Offset = Number(good.readBigUInt64BE(40));
    const l2 = Number(good.readBigUInt64BE(l1Offset) & 0x00fffffffffffe00n);
    // The write at 64 KiB is guest cluster 1 of the first L2 table.
    const entry = good.readBigUInt64BE(l2 + 8);
    expect(entry).not.toBe(0n);
    const path = await variant("l2-misaligned.qcow2", (b) => b.writeBigUInt64BE(entry + 4096n, l2 + 8));
    expect((await refusal(path)).message).toMatch(
      /^qcow2 L2 table: entry 1 points at \d+, not a cluster boundary/,
    );
  });

  it("a compressed cluster that does not inflate", async () => {
    const plain = join(dir, "to-compress.qcow2");
    await writeFile(plain, good);
    const packed = join(dir, "compressed.qcow2");
    qemuImg("convert", "-c", "-O", "qcow2", plain, packed);
    const bytes = await readFile(packed);
    // The data cluster is the last thing qemu-img convert writes: garble its deflate stream.
    bytes.fill(0xff, bytes.length - 512, bytes.length - 400);
    const at = bytes.lastIndexOf(Buffer.alloc(16, 0xff));
    expect(at).toBeGreaterThan(0);
    await writeFile(packed, bytes);
    const err = await refusal(packed);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(/^qcow2 compressed data: unit at offset \d+ /);
  });
});

describe("qcow2 backing files", () => {
  it("a missing backing file is a SourceError naming it", async () => {
    const top = join(dir, "orphan.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-u", "-b", "gone.qcow2", "-F", "qcow2", top, "8M");
    const err = await refusal(top);
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toContain(join(dir, "gone.qcow2"));
  });

  it("a chain that loops back to itself is refused", async () => {
    const a = join(dir, "loop-a.qcow2");
    const b = join(dir, "loop-b.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-u", "-b", "loop-b.qcow2", "-F", "qcow2", a, "8M");
    qemuImg("create", "-q", "-f", "qcow2", "-u", "-b", "loop-a.qcow2", "-F", "qcow2", b, "8M");
    expect((await refusal(a)).message).toMatch(
      /qcow2 backing file of .*loop-b\.qcow2: "loop-a\.qcow2" loops back/,
    );
  });

  it("a protocol name is not followed", async () => {
    const top = join(dir, "remote.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-u", "-b", "nbd://example.invalid/x", "-F", "raw", top, "8M");
    expect((await refusal(top)).message).toContain('"nbd://example.invalid/x" is not a local file name');
  });

  it("a backing file declared qcow2 that holds raw bytes", async () => {
    const base = join(dir, "declared.raw");
    await writeFile(base, Buffer.alloc(8 * 1024 * 1024));
    const top = join(dir, "wrong-format.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-u", "-b", "declared.raw", "-F", "qcow2", top, "8M");
    expect((await refusal(top)).message).toContain('"declared.raw" is declared qcow2 but holds raw');
  });
});

describe("qcow2 reads agree with qemu-img convert -O raw", () => {
  it("for random writes, whole-disk and piecewise", async () => {
    const write = fc.record({
      offset: fc.integer({ min: 0, max: 4 * 1024 * 1024 - 1 }).map((n) => n * 2),
      length: fc.integer({ min: 1, max: 300 }).map((n) => n * 512),
      pattern: fc.integer({ min: 1, max: 255 }),
    });
    const options = fc.constantFrom("compat=0.10", "compat=1.1", "compat=1.1,cluster_size=4k");
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(write, { minLength: 1, maxLength: 6 }),
        options,
        fc.boolean(),
        async (writes, o, c) => {
          const image = join(dir, `prop-${run++}.qcow2`);
          qemuImg("create", "-q", "-f", "qcow2", "-o", o, image, "8M");
          qemuWrite(
            image,
            "qcow2",
            writes.map((w) => ({ ...w, length: Math.min(w.length, 8 * 1024 * 1024 - w.offset) })),
          );
          const read = c ? `${image}.c` : image;
          if (c) qemuImg("convert", "-c", "-O", "qcow2", image, read);
          qemuImg("convert", "-O", "raw", read, `${image}.raw`);
          const expected = await readFile(`${image}.raw`);
          const source = await openFileSource(read);
          try {
            expect(source.size).toBe(expected.length);
            expect((await source.read(0, source.size)).equals(expected)).toBe(true);
            const piece = await source.read(writes[0]!.offset + 100, 70_000);
            expect(piece.equals(expected.subarray(writes[0]!.offset + 100, writes[0]!.offset + 70_100))).toBe(
              true,
            );
            // Everything outside the allocation map reads as zeros.
            let end = 0;
            for (const r of (await source.allocatedRanges?.()) ?? []) {
              expect(expected.subarray(end, r.offset).every((b) => b === 0)).toBe(true);
              end = r.offset + r.length;
            }
            expect(expected.subarray(end).every((b) => b === 0)).toBe(true);
          } finally {
            await source.close();
          }
        },
      ),
      { numRuns: 12 },
    );
  });
});

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openFileSource } from "../../../lib/adapters/local/sources/file-source.ts";
import { ValidationError } from "../../../lib/errors.ts";
import { qemuImg, qemuWrite } from "../../helpers/qemu.ts";
import { removeDir, tempDir } from "../../helpers/temp-dir.ts";

let dir: string;
let good: Buffer;
/** Where the dynamic header is (the footer's data offset). */
let headerAt: number;

beforeAll(async () => {
  dir = await tempDir("vhd-dynamic");
  const path = join(dir, "good.vhd");
  qemuImg("create", "-q", "-f", "vpc", "-o", "subformat=dynamic", path, "8M");
  qemuWrite(path, "vpc", [{ offset: 3 * 1024 * 1024 + 512, length: 1024, pattern: 0x5a }]);
  good = await readFile(path);
  headerAt = Number(good.readBigUInt64BE(good.length - 512 + 16));
});

afterAll(() => removeDir(dir));

/** The dynamic header's checksum, recomputed after an edit (so only the edited field is wrong). */
function resum(image: Buffer): void {
  let sum = 0;
  for (let i = 0; i < 1024; i++) if (i < 36 || i >= 40) sum += image[headerAt + i]!;
  image.writeUInt32BE(~sum >>> 0, headerAt + 36);
}

async function variant(name: string, edit: (image: Buffer) => unknown): Promise<string> {
  const path = join(dir, name);
  const bytes = Buffer.from(good);
  const edited = edit(bytes);
  await writeFile(path, edited instanceof Buffer ? edited : bytes);
  return path;
}

async function refusal(path: string): Promise<Error> {
  try {
    const source = await openFileSource(path);
    await source.read(0, source.size).finally(() => source.close());
  } catch (err) {
    return err as Error;
  }
  throw new Error(`${path} was accepted`);
}

describe("dynamic VHD headers that are bad or truncated are refused naming the field", () => {
  it.each([
    [
      "cookie",
      (b: Buffer) => b.write("xxxxxxxx", headerAt, "latin1"),
      /^vhd dynamic header: cookie at 512 is not "cxsparse"/,
    ],
    [
      "checksum",
      (b: Buffer) => b.writeUInt8(1, headerAt + 800),
      /^vhd dynamic header: checksum 0x[0-9a-f]{8} does not match/,
    ],
    [
      "block_size",
      (b: Buffer) => {
        b.writeUInt32BE(3000, headerAt + 32);
        resum(b);
      },
      /^vhd dynamic header: block_size 3000 is not a power of two/,
    ],
    [
      "max_table_entries",
      (b: Buffer) => {
        b.writeUInt32BE(1, headerAt + 28);
        resum(b);
      },
      /^vhd dynamic header: max_table_entries 1 is too few for \d+ bytes/,
    ],
    [
      "table_offset",
      (b: Buffer) => {
        b.writeBigUInt64BE(1n << 40n, headerAt + 16);
        resum(b);
      },
      /^vhd block allocation table: \d+ bytes at offset 1099511627776 lie past the end of the file/,
    ],
    [
      "truncation",
      (b: Buffer) => b.subarray(0, b.length - 700),
      /^vhd footer: missing at the end of the file/,
    ],
  ])("%s", async (name, edit, message) => {
    const path = await variant(`${name}.vhd`, edit);
    const err = await refusal(path);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(path);
  });

  it("reads agree with qemu-img convert -O raw, and unwritten sectors of a block are holes", async () => {
    const path = join(dir, "good.vhd");
    qemuImg("convert", "-O", "raw", path, `${path}.raw`);
    const expected = await readFile(`${path}.raw`);
    const source = await openFileSource(path);
    try {
      expect(source.format).toBe("vhd-dynamic");
      expect((await source.read(0, source.size)).equals(expected)).toBe(true);
      const ranges = (await source.allocatedRanges?.()) ?? [];
      expect(ranges.length).toBeGreaterThan(0);
      for (const r of ranges) expect(r.offset % (2 * 1024 * 1024)).toBe(0);
    } finally {
      await source.close();
    }
  });
});

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { crc32c } from "@aws-crypto/crc32c";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openFileSource } from "../../../lib/adapters/local/sources/file-source.ts";
import { ValidationError } from "../../../lib/errors.ts";
import { qemuImg, qemuWrite } from "../../helpers/qemu.ts";
import { removeDir, tempDir } from "../../helpers/temp-dir.ts";

const KiB = 1024;
let dir: string;
let good: Buffer;

beforeAll(async () => {
  dir = await tempDir("vhdx-header");
  const path = join(dir, "good.vhdx");
  qemuImg("create", "-q", "-f", "vhdx", "-o", "block_size=1M", path, "8M");
  qemuWrite(path, "vhdx", [{ offset: 3 * 1024 * 1024, length: 4096, pattern: 0x5a }]);
  good = await readFile(path);
});

afterAll(() => removeDir(dir));

/** Recomputes the CRC-32C of the structure of `length` bytes at `at` (so only the edit is wrong). */
function resum(b: Buffer, at: number, length: number): void {
  b.writeUInt32LE(0, at + 4);
  b.writeUInt32LE(crc32c(b.subarray(at, at + length)), at + 4);
}

/** Both header copies get the same edit. */
function bothHeaders(edit: (b: Buffer, at: number) => void) {
  return (b: Buffer) => {
    for (const at of [64 * KiB, 128 * KiB]) {
      edit(b, at);
      resum(b, at, 4 * KiB);
    }
  };
}

/** The BAT region's offset, from the region table (its first entry, as qemu-img writes it). */
function batOffset(b: Buffer): number {
  return Number(b.readBigUInt64LE(192 * KiB + 16 + 16));
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

describe("VHDX structures that are bad or truncated are refused naming the field", () => {
  it.each([
    [
      "header checksum",
      (b: Buffer) => b.fill(1, 64 * KiB + 100, 64 * KiB + 104).fill(1, 128 * KiB + 100, 128 * KiB + 104),
      /^vhdx header: neither copy/,
    ],
    ["log_guid", bothHeaders((b, at) => b.fill(7, at + 48, at + 64)), /^vhdx header: log_guid is set/],
    ["version", bothHeaders((b, at) => b.writeUInt16LE(2, at + 66)), /^vhdx header: version 2 is not 1/],
    [
      "region table",
      (b: Buffer) => b.fill(9, 192 * KiB + 40, 192 * KiB + 44).fill(9, 256 * KiB + 40, 256 * KiB + 44),
      /^vhdx region table: neither copy/,
    ],
    ["BAT state", (b: Buffer) => b.writeUInt32LE(7, batOffset(b)), /^vhdx BAT: block 0 has state 7/],
    [
      "truncation",
      (b: Buffer) => b.subarray(0, 100 * KiB),
      /^vhdx header: 4096 bytes at offset 131072 lie past the end/,
    ],
  ])("%s", async (name, edit, message) => {
    const path = join(dir, `${name.replace(/ /g, "-")}.vhdx`);
    const bytes = Buffer.from(good);
    const edited: unknown = edit(bytes);
    await writeFile(path, edited instanceof Buffer ? edited : bytes);
    const err = await refusal(path);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(path);
  });

  it("one damaged header copy is survived: the other is current", async () => {
    const path = join(dir, "one-header.vhdx");
    const bytes = Buffer.from(good);
    bytes.fill(1, 64 * KiB + 100, 64 * KiB + 104);
    await writeFile(path, bytes);
    qemuImg("convert", "-O", "raw", join(dir, "good.vhdx"), `${path}.raw`);
    const source = await openFileSource(path);
    try {
      expect((await source.read(0, source.size)).equals(await readFile(`${path}.raw`))).toBe(true);
    } finally {
      await source.close();
    }
  });
});

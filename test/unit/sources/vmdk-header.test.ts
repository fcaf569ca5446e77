import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openFileSource } from "../../../lib/adapters/local/sources/file-source.ts";
import { ValidationError } from "../../../lib/errors.ts";
import { qemuImg, qemuWrite } from "../../helpers/qemu.ts";
import { removeDir, tempDir } from "../../helpers/temp-dir.ts";

let dir: string;
let sparse: Buffer;
let stream: Buffer;

beforeAll(async () => {
  dir = await tempDir("vmdk-header");
  const path = join(dir, "good.vmdk");
  qemuImg("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicSparse", path, "8M");
  qemuWrite(path, "vmdk", [{ offset: 70_000, length: 9000, pattern: 0x5a }]);
  sparse = await readFile(path);
  qemuImg("convert", "-O", "vmdk", "-o", "subformat=streamOptimized", path, join(dir, "stream.vmdk"));
  stream = await readFile(join(dir, "stream.vmdk"));
});

afterAll(() => removeDir(dir));

async function variant(name: string, base: Buffer, edit: (image: Buffer) => unknown): Promise<string> {
  const path = join(dir, name);
  const bytes = Buffer.from(base);
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

/** Replaces text of the embedded descriptor, keeping its length. */
function descriptor(from: string, to: string) {
  return (b: Buffer) => {
    const at = b.indexOf(from, 0, "latin1");
    if (at < 0) throw new Error(`no "${from}" in the descriptor`);
    b.write(to.padEnd(from.length, " "), at, "latin1");
  };
}

describe("VMDK headers and descriptors that are bad or truncated are refused naming the field", () => {
  it.each([
    ["version", (b: Buffer) => b.writeUInt32LE(7, 4), /^vmdk header: version 7 out of range 1\.\.3/],
    [
      "grainSize",
      (b: Buffer) => b.writeBigUInt64LE(100n, 20),
      /^vmdk header: grainSize 100 is not a power of two/,
    ],
    ["numGTEsPerGT", (b: Buffer) => b.writeUInt32LE(0, 44), /^vmdk header: numGTEsPerGT 0 out of range/],
    [
      "compressAlgorithm",
      (b: Buffer) => b.writeUInt16LE(9, 77),
      /^vmdk header: compressAlgorithm 9 is not 0/,
    ],
    [
      "gdOffset",
      (b: Buffer) => b.writeBigUInt64LE(1n << 30n, 56),
      /^vmdk header: gdOffset 1073741824 with \d+ entries lies outside/,
    ],
    ["descriptorOffset", (b: Buffer) => b.writeBigUInt64LE(0n, 28), /^vmdk descriptor: none embedded/],
    [
      "createType",
      descriptor('createType="monolithicSparse"', 'createType="vmfs"'),
      /^vmdk descriptor: createType "vmfs"/,
    ],
    [
      "parentCID",
      descriptor("parentCID=ffffffff", "parentCID=12345678"),
      /^vmdk descriptor: parentCID 12345678: delta disks/,
    ],
    [
      "extent",
      descriptor("RW 16384 SPARSE", "RW 16000 SPARSE"),
      /^vmdk descriptor: the extent has 16000 sectors/,
    ],
    ["truncation", (b: Buffer) => b.subarray(0, 300), /^vmdk header: 512 bytes at offset 0 lie past the end/],
  ])("%s", async (name, edit, message) => {
    const err = await refusal(await variant(`${name}.vmdk`, sparse, edit));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(`${name}.vmdk`);
  });

  it("a stream-optimized image cut before its footer, or with a garbled grain", async () => {
    const gdAtEnd = (b: Buffer) => b.writeBigUInt64LE(0xffffffffffffffffn, 56);
    const cut = await variant("stream-cut.vmdk", stream, (b) => {
      gdAtEnd(b);
      return b.subarray(0, b.length - 1536);
    });
    expect((await refusal(cut)).message).toMatch(
      /^vmdk header: gdOffset is at the end, but the file does not end with a footer/,
    );
    const grain = stream.indexOf(Buffer.from([0x78, 0x9c]));
    const garbled = await variant("stream-garbled.vmdk", stream, (b) => b.fill(0xee, grain + 2, grain + 40));
    expect((await refusal(garbled)).message).toMatch(
      /^vmdk-stream-optimized compressed data: unit at offset \d+ does not decode/,
    );
  });

  it("a descriptor file whose data is elsewhere is refused, not read as raw", async () => {
    const path = join(dir, "flat.vmdk");
    qemuImg("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", path, "1M");
    expect((await refusal(path)).message).toMatch(
      /^vmdk descriptor: a descriptor file whose data is in other files/,
    );
  });
});

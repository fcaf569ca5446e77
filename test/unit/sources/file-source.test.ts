import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openFileSource } from "../../../lib/adapters/local/sources/file-source.ts";
import { SourceError, ValidationError } from "../../../lib/errors.ts";
import { buildVhdFooter, vhdChecksum } from "../../../lib/formats/vhd.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bv-file-source-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<SourceError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceError);
  return err as SourceError;
}

describe("raw image file", () => {
  const size = 1_000_003; // deliberately not a multiple of any block size
  let path: string;
  let data: Buffer;
  beforeAll(async () => {
    path = join(dir, "odd.img");
    data = randomBytes(size);
    await writeFile(path, data);
  });

  it("reports the file size, raw format and the path", async () => {
    const src = await openFileSource(path);
    expect(src.size).toBe(size);
    expect(src.format).toBe("raw");
    expect(src.description).toBe(path);
    await src.close();
  });

  it("reads exact ranges, including ones spanning the middle", async () => {
    const src = await openFileSource(path);
    expect(await src.read(0, 4096)).toEqual(data.subarray(0, 4096));
    expect(await src.read(500_000, 70_001)).toEqual(data.subarray(500_000, 570_001));
    expect(await src.read(0, size)).toEqual(data);
    await src.close();
  });

  it("clips reads at the end and returns nothing past it", async () => {
    const src = await openFileSource(path);
    expect(await src.read(size - 10, 4096)).toEqual(data.subarray(size - 10));
    expect((await src.read(size, 10)).length).toBe(0);
    expect((await src.read(size + 1_000, 10)).length).toBe(0);
    expect((await src.read(123, 0)).length).toBe(0);
    await src.close();
  });

  it("rejects negative or fractional offsets and lengths", async () => {
    const src = await openFileSource(path);
    await expect(src.read(-1, 10)).rejects.toBeInstanceOf(ValidationError);
    await expect(src.read(0, -5)).rejects.toBeInstanceOf(ValidationError);
    await expect(src.read(1.5, 10)).rejects.toBeInstanceOf(ValidationError);
    await src.close();
  });

  it("closes idempotently and refuses reads afterwards", async () => {
    const src = await openFileSource(path);
    await src.close();
    await src.close();
    const err = await rejection(src.read(0, 10));
    expect(err.message).toContain(path);
  });

  it("treats files smaller than a VHD footer as raw", async () => {
    const tiny = join(dir, "tiny.img");
    await writeFile(tiny, Buffer.from([1, 2, 3]));
    const src = await openFileSource(tiny);
    expect(src.size).toBe(3);
    expect(await src.read(1, 10)).toEqual(Buffer.from([2, 3]));
    await src.close();
  });

  it("fails with SourceError when the image shrinks while open", async () => {
    const p = join(dir, "shrinks.img");
    await writeFile(p, randomBytes(64 * 1024));
    const src = await openFileSource(p);
    await truncate(p, 1024);
    const err = await rejection(src.read(0, 8192));
    expect(err.message).toContain(p);
    await src.close();
  });
});

describe("fixed VHD", () => {
  const diskSize = 1024 * 1024 + 3 * 512;
  let data: Buffer;
  let footer: Buffer;
  beforeAll(() => {
    data = randomBytes(diskSize);
    footer = buildVhdFooter(diskSize, Buffer.alloc(16, 0xab));
  });

  async function writeVhd(name: string, foot: Buffer, body: Buffer = data): Promise<string> {
    const p = join(dir, name);
    await writeFile(p, Buffer.concat([body, foot]));
    return p;
  }

  it("round-trips: size excludes the footer and reads never return footer bytes", async () => {
    const p = await writeVhd("fixed.vhd", footer);
    const src = await openFileSource(p);
    expect(src.format).toBe("vhd-fixed");
    expect(src.size).toBe(diskSize);
    expect(await src.read(0, diskSize + 512)).toEqual(data);
    expect(await src.read(diskSize - 100, 4096)).toEqual(data.subarray(diskSize - 100));
    expect((await src.read(diskSize, 512)).length).toBe(0);
    await src.close();
  });

  it("refuses a footer whose checksum does not match, naming the file", async () => {
    const bad = Buffer.from(footer);
    bad[100] = bad[100]! ^ 0xff; // reserved area: only the checksum notices
    const p = await writeVhd("corrupt.vhd", bad);
    const err = await rejection(openFileSource(p));
    expect(err.message).toContain(p);
    expect(err.message).toMatch(/checksum/);
  });

  it("takes a footer of disk type 3 for a dynamic VHD, and wants its dynamic header", async () => {
    const foot = Buffer.from(footer);
    foot.writeUInt32BE(3, 60);
    foot.writeUInt32BE(vhdChecksum(foot), 64);
    const p = await writeVhd("dynamic.vhd", foot);
    const err = (await openFileSource(p).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^vhd dynamic header: /);
    expect(err.message).toContain(p);
  });

  it.each([
    [4, "differencing"],
    [5, "type 5"],
  ])("refuses disk type %i (%s) and suggests converting to fixed", async (type, kind) => {
    const foot = Buffer.from(footer);
    foot.writeUInt32BE(type, 60);
    foot.writeUInt32BE(vhdChecksum(foot), 64);
    const p = await writeVhd(`${kind}.vhd`, foot);
    const err = await rejection(openFileSource(p));
    expect(err.message).toContain(`${kind} VHD is not supported`);
    expect(err.message).toContain("subformat=fixed");
    expect(err.message).toContain(p);
  });

  it("refuses a fixed VHD whose footer size disagrees with the file", async () => {
    const p = await writeVhd("mismatch.vhd", footer, Buffer.concat([data, Buffer.alloc(512)]));
    const err = await rejection(openFileSource(p));
    expect(err.message).toContain(p);
    expect(err.message).toMatch(/footer says/);
  });

  it("refuses a VHD with an empty disk", async () => {
    const p = await writeVhd("empty.vhd", buildVhdFooter(0), Buffer.alloc(0));
    expect((await rejection(openFileSource(p))).message).toMatch(/empty/);
  });
});

describe("unusable paths", () => {
  it("missing file", async () => {
    const p = join(dir, "nope.img");
    const err = await rejection(openFileSource(p));
    expect(err.message).toBe(`image not found: ${p}`);
    expect(err.code).toBe("SOURCE");
    expect((err.cause as NodeJS.ErrnoException).code).toBe("ENOENT");
  });

  it("a path beneath a regular file", async () => {
    const file = join(dir, "plain.img");
    await writeFile(file, "x");
    const p = join(file, "disk.img");
    const err = await rejection(openFileSource(p));
    expect(err.message).toContain(p);
    expect((err.cause as NodeJS.ErrnoException).code).toBe("ENOTDIR");
  });

  it("a directory", async () => {
    const d = join(dir, "a-dir");
    await mkdir(d);
    expect((await rejection(openFileSource(d))).message).toContain(d);
  });

  it("an empty file", async () => {
    const p = join(dir, "empty.img");
    await writeFile(p, "");
    const err = await rejection(openFileSource(p));
    expect(err.message).toContain(p);
    expect(err.message).toMatch(/empty/);
  });

  it("a FIFO is refused without blocking", async () => {
    const p = join(dir, "pipe");
    execFileSync("mkfifo", [p]);
    expect((await rejection(openFileSource(p))).message).toMatch(/neither a regular file nor a block device/);
  });

  it("leaves the image untouched", async () => {
    const p = join(dir, "untouched.img");
    const content = randomBytes(4096);
    await writeFile(p, content);
    const src = await openFileSource(p);
    await src.read(0, 4096);
    await src.close();
    expect(await readFile(p)).toEqual(content);
  });
});

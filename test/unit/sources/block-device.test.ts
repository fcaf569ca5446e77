import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  blockDeviceSize,
  devMajorMinor,
  parseSysfsSize,
} from "../../../lib/adapters/local/sources/block-device.ts";
import { openFileSource } from "../../../lib/adapters/local/sources/file-source.ts";
import { SourceError } from "../../../lib/errors.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bv-block-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `<root>/<rel>/size` with the given content. */
async function sysfsEntry(root: string, rel: string, content: string): Promise<void> {
  await mkdir(join(root, rel), { recursive: true });
  await writeFile(join(root, rel, "size"), content);
}

describe("parseSysfsSize", () => {
  it("converts 512-byte sectors to bytes", () => {
    expect(parseSysfsSize("2048\n", "/dev/x")).toBe(1024 * 1024);
    expect(parseSysfsSize("0\n", "/dev/x")).toBe(0);
  });

  it("refuses garbage and sizes beyond safe integers", () => {
    expect(() => parseSysfsSize("abc\n", "/dev/x")).toThrow(SourceError);
    expect(() => parseSysfsSize("-5", "/dev/x")).toThrow(SourceError);
    expect(() => parseSysfsSize("", "/dev/x")).toThrow(SourceError);
    expect(() => parseSysfsSize("99999999999999999999", "/dev/x")).toThrow(/too large/);
  });
});

describe("devMajorMinor", () => {
  it("decodes the Linux dev_t encoding, including large minors", () => {
    expect(devMajorMinor(0x0700)).toEqual({ major: 7, minor: 0 });
    expect(devMajorMinor(0x10301)).toEqual({ major: 259, minor: 1 });
    expect(devMajorMinor(0x110300)).toEqual({ major: 259, minor: 256 });
  });
});

describe("blockDeviceSize with a fake sysfs", () => {
  it("looks the kernel name up under class/block", async () => {
    const sys = join(dir, "sys1");
    await sysfsEntry(sys, "class/block/loop9", "4096\n");
    const dev = join(dir, "dev1");
    await mkdir(dev);
    await writeFile(join(dev, "loop9"), "");
    expect(await blockDeviceSize(join(dev, "loop9"), undefined, sys)).toBe(4096 * 512);
  });

  it("resolves symlinks first, as /dev/mapper/x -> /dev/dm-N", async () => {
    const sys = join(dir, "sys2");
    await sysfsEntry(sys, "class/block/dm-3", "8\n");
    const dev = join(dir, "dev2");
    await mkdir(join(dev, "mapper"), { recursive: true });
    await writeFile(join(dev, "dm-3"), "");
    await symlink("../dm-3", join(dev, "mapper", "vault"));
    expect(await blockDeviceSize(join(dev, "mapper", "vault"), undefined, sys)).toBe(4096);
  });

  it("falls back to dev/block/<major>:<minor> for nodes with unknown names", async () => {
    const sys = join(dir, "sys3");
    await sysfsEntry(sys, "dev/block/7:9", "16\n");
    const node = join(dir, "custom-node");
    await writeFile(node, "");
    expect(await blockDeviceSize(node, 0x0709, sys)).toBe(8192);
  });

  it("fails with SourceError naming the device when sysfs has nothing", async () => {
    const node = join(dir, "ghost");
    await writeFile(node, "");
    const err = await blockDeviceSize(node, 0x0709, join(dir, "empty-sys")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toContain(node);
  });
});

/** Attaches `file` to a free loop device, or returns undefined when this host cannot. */
function attachLoop(file: string): string | undefined {
  try {
    return execFileSync("losetup", ["--find", "--show", file], { encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
}

describe("a real loop device", () => {
  const size = 3 * 1024 * 1024;
  let image: string;
  let data: Buffer;
  let loop: string | undefined;
  beforeAll(async () => {
    image = join(dir, "backing.img");
    data = randomBytes(size);
    await writeFile(image, data);
    loop = attachLoop(image);
  });
  afterAll(() => {
    if (loop) execFileSync("losetup", ["--detach", loop]);
  });

  it("is opened as a block device sized from sysfs, also through a symlink", async (ctx) => {
    // Needs root and loop support; the fake-sysfs tests above cover the logic everywhere else.
    if (!loop) ctx.skip("losetup is unavailable here");
    const link = join(dir, "by-id-link");
    await symlink(loop!, link);
    for (const path of [loop!, link]) {
      const src = await openFileSource(path);
      expect(src.format).toBe("block-device");
      expect(src.size).toBe(size);
      expect(src.description).toBe(path);
      expect(await src.read(size - 5000, 10_000)).toEqual(data.subarray(size - 5000));
      expect(await src.read(0, size)).toEqual(data);
      await src.close();
    }
    const name = loop!.slice("/dev/".length);
    const sysDev = (await readFile(`/sys/class/block/${name}/dev`, "utf8")).trim();
    const { major, minor } = devMajorMinor((await stat(loop!)).rdev);
    expect(`${major}:${minor}`).toBe(sysDev);
  });
});

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initLocalVault } from "../../lib/compose/local.ts";
import type { Vault } from "../../lib/vault.ts";
import { DISK_SIZE, readsInside, roundTrip, SCATTERED, totalBytes } from "../helpers/image-format-fixture.ts";
import { qemuImg, qemuWrite } from "../helpers/qemu.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let dir: string;
let vault: Vault;

beforeAll(async () => {
  dir = await tempDir("format-qcow2");
  vault = await initLocalVault(join(dir, "vault"), { name: "qcow2", blockSize: 65536 });
});

afterAll(async () => {
  await vault.close();
  await removeDir(dir);
});

/** A qcow2 image made by qemu-img with `options`, holding the scattered writes. */
function qcow2(name: string, options: string): string {
  const path = join(dir, name);
  qemuImg("create", "-q", "-f", "qcow2", "-o", options, path, String(DISK_SIZE));
  qemuWrite(path, "qcow2", SCATTERED);
  return path;
}

/** Backs the image up, restores it raw, and checks what qemu-img and the read log say. */
async function expectRoundTrip(image: string, disk: string) {
  const trip = await roundTrip(vault, dir, image, "qcow2", disk);
  expect(trip.compared).toBe("identical");
  expect(trip.format).toBe("qcow2");
  expect(trip.recordedFormat).toBe("qcow2");
  const allocated = trip.log.allocated ?? [];
  // The image's own tables said where data is: the rest was never read.
  expect(allocated.length).toBeGreaterThan(0);
  expect(totalBytes(allocated)).toBeLessThan(DISK_SIZE / 4);
  expect(readsInside(trip.log.reads, allocated)).toBe(true);
  expect(totalBytes(trip.log.reads)).toBeLessThanOrEqual(totalBytes(allocated));
  return trip;
}

describe("qcow2 sources, made by qemu-img and compared by it", () => {
  it("version 2 (compat=0.10) is read as the guest sees it, holes unread", async () => {
    await expectRoundTrip(qcow2("v2.qcow2", "compat=0.10"), "v2");
  });

  it("version 3 (compat=1.1) with zero clusters written by qemu-io write -z", async () => {
    const image = qcow2("v3.qcow2", "compat=1.1");
    qemuWrite(image, "qcow2", [{ offset: 63 * 1024 * 1024, length: 512 * 1024, pattern: "zero" }]);
    const trip = await expectRoundTrip(image, "v3");
    // The zeroed half of the last write is a zero cluster run: a hole, not data.
    const last = trip.log.allocated?.at(-1);
    expect(last?.offset).toBe(63 * 1024 * 1024 + 512 * 1024);
  });

  it("compressed clusters (qemu-img convert -c), zlib and zstd", async () => {
    const plain = qcow2("plain.qcow2", "compat=1.1");
    const zlib = join(dir, "zlib.qcow2");
    qemuImg("convert", "-c", "-O", "qcow2", plain, zlib);
    await expectRoundTrip(zlib, "compressed-zlib");
    const zstd = join(dir, "zstd.qcow2");
    qemuImg("convert", "-c", "-O", "qcow2", "-o", "compression_type=zstd", plain, zstd);
    await expectRoundTrip(zstd, "compressed-zstd");
  });

  it("a backing chain (-b base -F qcow2) resolved relative to the image, not the working directory", async () => {
    qcow2("base.qcow2", "compat=1.1");
    const mid = join(dir, "mid.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", mid);
    qemuWrite(mid, "qcow2", [
      { offset: 70_000 * 512 + 4096, length: 4096, pattern: 0x66 },
      { offset: 20 * 1024 * 1024, length: 65536, pattern: 0x77 },
    ]);
    const top = join(dir, "top.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", top);
    qemuWrite(top, "qcow2", [
      { offset: 0, length: 512, pattern: "zero" },
      { offset: 40 * 1024 * 1024, length: 4096, pattern: 0x88 },
    ]);
    const trip = await expectRoundTrip(top, "chain");
    // Data from every layer is allocated: the base's first write, the middle's, the top's.
    const starts = (trip.log.allocated ?? []).map((r) => r.offset);
    expect(starts).toEqual(expect.arrayContaining([20 * 1024 * 1024, 40 * 1024 * 1024]));
  });

  it("a raw backing file (-F raw) smaller than the image", async () => {
    const base = join(dir, "base.raw");
    qemuImg("create", "-q", "-f", "raw", base, String(DISK_SIZE / 2));
    qemuWrite(base, "raw", [{ offset: 1024 * 1024, length: 65536, pattern: 0x99 }]);
    const top = join(dir, "over-raw.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", top, String(DISK_SIZE));
    qemuWrite(top, "qcow2", [{ offset: 50 * 1024 * 1024, length: 4096, pattern: 0xaa }]);
    const trip = await roundTrip(vault, dir, top, "qcow2", "over-raw");
    expect(trip.compared).toBe("identical");
  });

  it("extended L2 entries (subclusters)", async () => {
    await expectRoundTrip(qcow2("ext.qcow2", "compat=1.1,extended_l2=on,cluster_size=128k"), "extended-l2");
  });

  it("small (512-byte) and large (2 MiB) clusters", async () => {
    await expectRoundTrip(qcow2("c512.qcow2", "compat=1.1,cluster_size=512"), "clusters-512");
    await expectRoundTrip(qcow2("c2m.qcow2", "compat=1.1,cluster_size=2M"), "clusters-2m");
  });
});

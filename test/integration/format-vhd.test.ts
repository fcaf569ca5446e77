import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initLocalVault } from "../../lib/compose/local.ts";
import type { Vault } from "../../lib/vault.ts";
import { expectFaithful, roundTrip, scatteredImage } from "../helpers/image-format-fixture.ts";
import { qemuImg } from "../helpers/qemu.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let dir: string;
let vault: Vault;

beforeAll(async () => {
  dir = await tempDir("format-vhd");
  vault = await initLocalVault(join(dir, "vault"), { name: "vhd", blockSize: 65536 });
});

afterAll(async () => {
  await vault.close();
  await removeDir(dir);
});

describe("VHD sources, made by qemu-img (vpc) and compared by it", () => {
  it("a dynamic VHD is read through its BAT and sector bitmaps; unallocated blocks are not read", async () => {
    const image = scatteredImage(join(dir, "dynamic.vhd"), "vpc", "subformat=dynamic");
    expectFaithful(await roundTrip(vault, dir, image, "vpc", "dynamic"), "vhd-dynamic");
  });

  it("a dynamic VHD converted from another image by qemu-img convert", async () => {
    const qcow2 = scatteredImage(join(dir, "from.qcow2"), "qcow2", "");
    const image = join(dir, "converted.vhd");
    qemuImg("convert", "-O", "vpc", "-o", "subformat=dynamic", qcow2, image);
    expectFaithful(await roundTrip(vault, dir, image, "vpc", "converted"), "vhd-dynamic");
  });

  it("a fixed VHD is read as its disk, footer left out", async () => {
    const image = scatteredImage(join(dir, "fixed.vhd"), "vpc", "subformat=fixed");
    const trip = await roundTrip(vault, dir, image, "vpc", "fixed");
    expect(trip.compared).toBe("identical");
    expect(trip.recordedFormat).toBe("vhd-fixed");
  });

  it("a raw image named .vhd is raw", async () => {
    const image = scatteredImage(join(dir, "raw-named.vhd"), "raw", "");
    const trip = await roundTrip(vault, dir, image, "raw", "raw-named");
    expect(trip.compared).toBe("identical");
    expect(trip.recordedFormat).toBe("raw");
  });
});

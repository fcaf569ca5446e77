import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initLocalVault } from "../../lib/compose/local.ts";
import type { Vault } from "../../lib/vault.ts";
import { DISK_SIZE, expectFaithful, roundTrip, scatteredImage } from "../helpers/image-format-fixture.ts";
import { qemuImg } from "../helpers/qemu.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let dir: string;
let vault: Vault;

beforeAll(async () => {
  dir = await tempDir("format-vhdx");
  vault = await initLocalVault(join(dir, "vault"), { name: "vhdx", blockSize: 65536 });
});

afterAll(async () => {
  await vault.close();
  await removeDir(dir);
});

describe("VHDX sources, made by qemu-img and compared by it", () => {
  it("dynamic with 1 MiB blocks: blocks not present are not read", async () => {
    const image = scatteredImage(join(dir, "dynamic.vhdx"), "vhdx", "block_size=1M");
    expectFaithful(await roundTrip(vault, dir, image, "vhdx", "dynamic"), "vhdx");
  });

  it("dynamic with qemu's default block size, converted from qcow2", async () => {
    const qcow2 = scatteredImage(join(dir, "from.qcow2"), "qcow2", "");
    const image = join(dir, "converted.vhdx");
    qemuImg("convert", "-O", "vhdx", qcow2, image);
    // Default blocks are large (8 MiB or more): the five writes touch four of them.
    expectFaithful(await roundTrip(vault, dir, image, "vhdx", "converted"), "vhdx", DISK_SIZE);
  });

  it("fixed (subformat=fixed)", async () => {
    const image = scatteredImage(join(dir, "fixed.vhdx"), "vhdx", "subformat=fixed,block_size=1M");
    const trip = await roundTrip(vault, dir, image, "vhdx", "fixed");
    expect(trip.compared).toBe("identical");
    expect(trip.recordedFormat).toBe("vhdx");
  });
});

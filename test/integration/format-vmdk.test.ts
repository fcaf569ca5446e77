import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { initLocalVault } from "../../lib/compose/local.ts";
import type { Vault } from "../../lib/vault.ts";
import { expectFaithful, roundTrip, scatteredImage } from "../helpers/image-format-fixture.ts";
import { qemuImg, qemuWrite } from "../helpers/qemu.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let dir: string;
let vault: Vault;

beforeAll(async () => {
  dir = await tempDir("format-vmdk");
  vault = await initLocalVault(join(dir, "vault"), { name: "vmdk", blockSize: 65536 });
});

afterAll(async () => {
  await vault.close();
  await removeDir(dir);
});

describe("VMDK sources, made by qemu-img and compared by it", () => {
  it("monolithicSparse: grain directory and tables; unwritten grains are not read", async () => {
    const image = scatteredImage(join(dir, "sparse.vmdk"), "vmdk", "subformat=monolithicSparse");
    expectFaithful(await roundTrip(vault, dir, image, "vmdk", "sparse"), "vmdk-monolithic-sparse");
  });

  it("monolithicSparse with zeroed grains (zeroed_grain=on, qemu-io write -z)", async () => {
    const image = scatteredImage(
      join(dir, "zeroed.vmdk"),
      "vmdk",
      "subformat=monolithicSparse,zeroed_grain=on",
    );
    qemuWrite(image, "vmdk", [{ offset: 63 * 1024 * 1024, length: 512 * 1024, pattern: "zero" }]);
    expectFaithful(await roundTrip(vault, dir, image, "vmdk", "zeroed"), "vmdk-monolithic-sparse");
  });

  it("streamOptimized: compressed grains behind grain markers", async () => {
    const sparse = scatteredImage(join(dir, "to-stream.vmdk"), "vmdk", "subformat=monolithicSparse");
    const image = join(dir, "stream.vmdk");
    qemuImg("convert", "-O", "vmdk", "-o", "subformat=streamOptimized", sparse, image);
    expectFaithful(await roundTrip(vault, dir, image, "vmdk", "stream"), "vmdk-stream-optimized");
  });
});

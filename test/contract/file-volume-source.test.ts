import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { buildVhdFooter } from "../../lib/formats/vhd.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { describeVolumeSourceContract, type VolumeSourceHarness } from "./volume-source.contract.ts";

let dir: string;
let made = 0;
beforeAll(async () => {
  dir = await tempDir("file-volume-source");
});
afterAll(async () => {
  await removeDir(dir);
});

/** Files holding the disk as written by `encode`, which also says the logical size. */
function fileHarness(encode: (bytes: Buffer) => { data: Buffer; size: number }): VolumeSourceHarness {
  return {
    async make(bytes) {
      const path = join(dir, `image-${++made}`);
      const { data, size } = encode(bytes);
      await writeFile(path, data);
      return { name: path, size, open: () => openFileSource(path), cleanup: () => rm(path, { force: true }) };
    },
    openMissing() {
      const path = join(dir, "never-written.img");
      return { name: path, opening: openFileSource(path) };
    },
    vanish: (image) => rm(image.name),
  };
}

describeVolumeSourceContract(
  "raw image file",
  fileHarness((bytes) => ({ data: bytes, size: bytes.length })),
);

describeVolumeSourceContract(
  "fixed VHD file",
  fileHarness((bytes) => {
    // A VHD disk is whole 512-byte sectors: the padding is part of the disk and reads as zeros.
    const size = Math.ceil(bytes.length / 512) * 512;
    const disk = Buffer.concat([bytes, Buffer.alloc(size - bytes.length)]);
    return { data: Buffer.concat([disk, buildVhdFooter(size)]), size };
  }),
);

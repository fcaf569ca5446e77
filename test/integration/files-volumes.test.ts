import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError } from "../../lib/errors.ts";
import { extract } from "../../lib/files/extract.ts";
import type { PointFiles } from "../../lib/files/point-files.ts";
import type { Vault } from "../../lib/vault.ts";
import { blankDisk, expectSameTree, mkExt, mkFat, sfdisk, sfdiskList } from "../helpers/disk-images.ts";
import { runTool } from "../helpers/disk-tools.ts";
import { writeTestTree } from "../helpers/file-trees.ts";
import { buildVolumeGroup, writeIntoVolume } from "../helpers/lvm-disk.ts";
import { backedUpFiles, fileVault } from "../helpers/point-images.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";
/** Each test builds images with real tools and backs them up: minutes on a loaded machine. */
const SLOW = 300_000;
const MiB = 1024 * 1024;
let root: string;
let tree: string;
let fatTree: string;
let vault: Vault;

beforeAll(async () => {
  root = await tempDir("files-volumes");
  tree = join(root, "tree");
  fatTree = join(root, "fat-tree");
  await mkdir(tree);
  await mkdir(fatTree);
  await writeTestTree(tree);
  await writeTestTree(fatTree, true);
  vault = await fileVault(root);
});
afterAll(async () => {
  await vault?.close();
  if (root) await removeDir(root);
});

/** Extracts `path` of partition `id` and compares it with the tree it was built from. */
async function expectVolumeHolds(
  files: PointFiles,
  id: string,
  expected: string,
  simple = false,
  path = "/",
) {
  const { fs } = await files.mount(id);
  const dest = join(root, `out-${id.replace("/", "-")}-${Date.now()}`);
  await extract(fs, path, dest);
  if (path === "/" && !simple) await removeDir(join(dest, "lost+found"));
  await expectSameTree(path === "/" ? expected : join(expected, path), dest, simple);
}

describe("partitions and file systems of a recovery point", () => {
  it(
    "MBR with extended and logical partitions: ext4, FAT16, ext2 and ext4 without a journal, as sfdisk laid them out",
    async () => {
      const image = join(root, "mbr.img");
      await blankDisk(image, 400);
      sfdisk(image, [
        "start=2048, size=163840, type=83",
        "start=165888, size=65536, type=6",
        "start=231424, type=5",
        "start=233472, size=163840, type=83",
        "start=399360, size=163840, type=83",
      ]);
      const layout = sfdiskList(image);
      mkExt(image, tree, "ext4", 80, 2048 * 512);
      await mkFat(image, fatTree, 16, 32768, 165888);
      mkExt(image, tree, "ext2", 80, 233472 * 512);
      mkExt(image, tree, "ext4-nojournal", 80, 399360 * 512);
      const files = await backedUpFiles(vault, image, "mbr");
      try {
        const volumes = await files.volumes();
        expect(volumes.map((v) => [v.id, v.offset / 512, v.size / 512, v.fileSystem])).toEqual(
          layout
            .filter((p) => p.type !== "5")
            .map((p) => [
              String(p.number),
              p.start,
              p.size,
              { "83": p.number === 5 ? "ext2" : "ext4", "6": "vfat" }[p.type],
            ]),
        );
        await expectVolumeHolds(files, "1", tree);
        await expectVolumeHolds(files, "2", fatTree, true);
        // The other ext kinds hold the same tree; one deep branch of each is compared.
        await expectVolumeHolds(files, "5", tree, false, "/etc");
        await expectVolumeHolds(files, "6", tree, false, "/etc");
        // Listing and one file's bytes read only what they touch, not the disk.
        expect(files.stats.bytesFetched).toBeLessThan(400 * MiB);
      } finally {
        await files.close();
      }
    },
    SLOW,
  );

  it(
    "GPT with a FAT32 EFI partition, a gap in the numbering and an LVM group whose volume has two segments",
    async () => {
      const image = join(root, "gpt.img");
      await blankDisk(image, 300);
      runTool("sgdisk", [
        "-o",
        "-n",
        "1:2048:+40M",
        "-t",
        "1:ef00",
        "-c",
        "1:EFI system partition",
        "-n",
        "3:0:+200M",
        "-t",
        "3:8e00",
        "-c",
        "3:lvm",
        image,
      ]);
      await mkFat(image, fatTree, 32, 40 * 1024, 2048);
      const pvOffset = (2048 + 40 * 2048) * 512;
      const vg = `bvfiles${process.pid}`;
      const group = buildVolumeGroup(image, pvOffset, 200 * MiB, vg, [
        ["lvcreate", "-an", "-Zn", "-L", "60m", "-n", "root", vg],
        ["lvcreate", "-an", "-Zn", "-L", "8m", "-n", "swap", vg],
        ["lvextend", "-L", "+40m", `${vg}/root`],
      ]);
      expect(group.segments.filter((s) => s.lv === "root").length).toBe(2);
      const rootImage = join(root, "lv-root.img");
      await blankDisk(rootImage, 100);
      mkExt(rootImage, tree, "ext4", 100);
      await writeIntoVolume(image, pvOffset, group, "root", rootImage);
      const files = await backedUpFiles(vault, image, "gpt");
      try {
        const volumes = await files.volumes();
        expect(volumes.map((v) => [v.id, v.scheme, v.fileSystem, v.label])).toEqual([
          ["1", "gpt", "vfat", "EFI system partition"],
          ["3", "gpt", "LVM2_member", "lvm"],
          [`${vg}/root`, "lvm", "ext4", undefined],
          [`${vg}/swap`, "lvm", undefined, undefined],
        ]);
        expect(volumes.find((v) => v.id === `${vg}/root`)?.size).toBe(100 * MiB);
        expect(volumes[0]!.partitionType).toBe("c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
        await expectVolumeHolds(files, "1", fatTree, true);
        await expectVolumeHolds(files, `${vg}/root`, tree);
      } finally {
        await files.close();
      }
    },
    SLOW,
  );

  it(
    "a path that does not exist is NotFound naming it; a directory that does lists its entries",
    async () => {
      const image = join(root, "whole.img");
      await blankDisk(image, 80);
      mkExt(image, tree, "ext4", 80);
      const files = await backedUpFiles(vault, image, "whole");
      try {
        const volumes = await files.volumes();
        expect(volumes.map((v) => [v.id, v.fileSystem])).toEqual([["disk", "ext4"]]);
        const { fs } = await files.mount();
        const nginx = await fs.list("/etc/nginx");
        expect(nginx.map((e) => [e.name, e.type, e.size, (e.mode & 0o7777).toString(8)])).toEqual([
          ["nginx.conf", "file", 20, "640"],
          ["sites", "directory", 1024, "755"],
        ]);
        const err = await fs.stat("/etc/nope/x").catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as Error).message).toContain("/etc/nope/x");
      } finally {
        await files.close();
      }
    },
    SLOW,
  );
});

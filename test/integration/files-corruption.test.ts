import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiskFormatError } from "../../lib/errors.ts";
import { openFileSystem } from "../../lib/files/fs/detect.ts";
import { listVolumes } from "../../lib/files/volumes.ts";
import { blankDisk, mkExt, mkFat, patchFile, sfdisk } from "../helpers/disk-images.ts";
import { runTool } from "../helpers/disk-tools.ts";
import { fileByteSource } from "../helpers/file-byte-source.ts";
import { writeTestTree } from "../helpers/file-trees.ts";
import { buildVolumeGroup } from "../helpers/lvm-disk.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

const SLOW = 300_000;
const MiB = 1024 * 1024;
let root: string;
let tree: string;
let n = 0;

beforeAll(async () => {
  root = await tempDir("files-corrupt");
  tree = join(root, "tree");
  await mkdir(tree);
  await writeTestTree(tree, true);
});
afterAll(async () => {
  if (root) await removeDir(root);
});

/** A copy of `image` to damage. */
async function copyOf(image: string): Promise<string> {
  const path = join(root, `copy-${n++}.img`);
  await copyFile(image, path);
  return path;
}

/** What reading `path`'s volumes, then every file of every browsable one, fails with. */
async function readAll(path: string): Promise<unknown> {
  const source = await fileByteSource(path);
  try {
    for (const v of await listVolumes(source)) {
      if (!v.fileSystem || v.problem || v.fileSystem === "LVM2_member") continue;
      const fs = await openFileSystem(v.source, v.fileSystem);
      try {
        const walk = async (dir: string): Promise<void> => {
          for (const e of await fs.list(dir)) {
            const p = `${dir === "/" ? "" : dir}/${e.name}`;
            if (e.type === "directory") await walk(p);
            if (e.type === "file") {
              const f = await fs.open(p);
              await f.read(0, Math.min(f.size, MiB));
              await f.close();
            }
          }
        };
        await walk("/");
      } finally {
        await fs.close();
      }
    }
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await source.close();
  }
}

/** Expects a DiskFormatError of one line matching `pattern`. */
function expectFormatError(err: unknown, pattern: RegExp): void {
  expect(err).toBeInstanceOf(DiskFormatError);
  const message = (err as Error).message;
  expect(message).toMatch(pattern);
  expect(message).not.toContain("\n");
}

describe("damaged structures give a one-line error naming the structure, never a crash or a hang", () => {
  it(
    "GPT: a bad primary header falls back to the backup; both bad, or a bad entry array, is refused",
    async () => {
      const image = join(root, "gpt.img");
      await blankDisk(image, 64);
      runTool("sgdisk", ["-o", "-n", "2:2048:+20M", "-t", "2:8300", image]);
      mkExt(image, tree, "ext4", 20, 2048 * 512);
      const lastLba = (64 * MiB) / 512 - 1;
      const primary = await copyOf(image);
      await patchFile(primary, 512 + 40, Buffer.from([0x99]));
      const source = await fileByteSource(primary);
      expect((await listVolumes(source)).map((v) => [v.id, v.fileSystem])).toEqual([["2", "ext4"]]);
      await source.close();
      const both = await copyOf(primary);
      await patchFile(both, lastLba * 512 + 40, Buffer.from([0x99]));
      expectFormatError(await readAll(both), /primary GPT header \(LBA 1\).*header CRC32.*backup GPT header/);
      const entries = await copyOf(image);
      await patchFile(entries, 2 * 512 + 128 + 5, Buffer.from([0x42]));
      await patchFile(entries, (lastLba - 32) * 512 + 128 + 5, Buffer.from([0x42]));
      expectFormatError(await readAll(entries), /partition entry array CRC32/);
    },
    SLOW,
  );

  it(
    "MBR: an extended chain that loops, a record without its signature, a partition past the disk",
    async () => {
      const image = join(root, "mbr.img");
      await blankDisk(image, 64);
      sfdisk(image, [
        "start=2048, size=20480, type=83",
        "start=22528, type=5",
        "start=24576, size=8192, type=83",
        "start=34816, size=8192, type=83",
      ]);
      const ebr = 22528 * 512;
      const looping = await copyOf(image);
      // The first EBR's link to the next record points back at itself (relative LBA 0).
      const sector = (await readFile(looping)).subarray(ebr, ebr + 512);
      const link = Buffer.from(sector.subarray(446 + 16, 446 + 32));
      link.writeUInt32LE(0, 8);
      const second = (await readFile(image)).readUInt32LE(ebr + 446 + 16 + 8);
      await patchFile(looping, ebr + second * 512 + 446 + 16, link);
      link.writeUInt32LE(second, 8);
      await patchFile(looping, ebr + 446 + 16, link);
      expectFormatError(await readAll(looping), /extended boot record at byte \d+ .*chain loops/);
      const unsigned = await copyOf(image);
      await patchFile(unsigned, ebr + 510, Buffer.from([0, 0]));
      expectFormatError(await readAll(unsigned), /extended boot record.*no boot signature/);
      const outside = await copyOf(image);
      const entry = Buffer.alloc(4);
      entry.writeUInt32LE(10 * 1024 * 1024, 0);
      await patchFile(outside, 446 + 12, entry);
      expectFormatError(await readAll(outside), /MBR entry 1 .*lies outside the disk/);
    },
    SLOW,
  );

  it(
    "ext4 changed with debugfs: a directory pointing at a block past the file system, a wiped superblock",
    async () => {
      const image = join(root, "ext.img");
      await blankDisk(image, 32);
      mkExt(image, tree, "ext4", 32);
      // debugfs -w writes a new file into the image (it is found), and damages /etc's block map.
      const added = join(root, "added.txt");
      await import("node:fs/promises").then((f) => f.writeFile(added, "added by debugfs\n"));
      runTool("debugfs", ["-w", "-R", `write ${added} added.txt`, image]);
      const source = await fileByteSource(image);
      const [volume] = await listVolumes(source);
      const fs = await openFileSystem(volume!.source, volume!.fileSystem);
      const file = await fs.open("/added.txt");
      expect((await file.read(0, 100)).toString()).toBe("added by debugfs\n");
      await fs.close();
      await source.close();
      const badDir = await copyOf(image);
      runTool("debugfs", ["-w", "-R", "set_inode_field /etc/nginx block[5] 999999999", badDir]);
      expectFormatError(await readAll(badDir), /ext4 file system of .*list \/etc\/nginx failed/);
      const wiped = await copyOf(image);
      // Counts and sizes wiped, the magic (at byte 56 of the superblock) left: it is still taken for ext4.
      await patchFile(wiped, 1024 + 4, Buffer.alloc(48, 0xff));
      expectFormatError(await readAll(wiped), /ext4 file system of .* cannot be opened/);
    },
    SLOW,
  );

  it(
    "FAT: a directory whose cluster chain loops, a file whose chain leaves the volume",
    async () => {
      const image = join(root, "fat.img");
      await blankDisk(image, 40);
      await mkFat(image, tree, 32, 40 * 1024);
      const boot = (await readFile(image)).subarray(0, 512);
      const fat = boot.readUInt16LE(14) * boot.readUInt16LE(11);
      const rootCluster = boot.readUInt32LE(44);
      const looping = await copyOf(image);
      const self = Buffer.alloc(4);
      self.writeUInt32LE(rootCluster, 0);
      await patchFile(looping, fat + rootCluster * 4, self);
      expectFormatError(await readAll(looping), /directory \/ of the vfat file system.*cluster chain loops/);
      const leaving = await copyOf(image);
      // The 1 MiB file's chain: its first cluster's link goes far past the last cluster.
      const bytes = await readFile(leaving);
      const out = Buffer.alloc(4);
      out.writeUInt32LE(0x0ffffff0, 0);
      for (let c = rootCluster + 1; c < rootCluster + 4000; c++) {
        if (bytes.readUInt32LE(fat + c * 4) === c + 1) {
          await patchFile(leaving, fat + c * 4, out);
          break;
        }
      }
      expectFormatError(await readAll(leaving), /cluster chain links to cluster \d+, outside the volume/);
    },
    SLOW,
  );

  it(
    "LVM: metadata text whose checksum fails is refused naming the metadata area",
    async () => {
      const image = join(root, "lvm.img");
      await blankDisk(image, 40);
      const vg = `bvcorrupt${process.pid}`;
      buildVolumeGroup(image, 0, 40 * MiB, vg, [["lvcreate", "-an", "-Zn", "-L", "8m", "-n", "data", vg]]);
      const bytes = await readFile(image);
      const damaged = await copyOf(image);
      // The ring keeps earlier versions of the text too: every copy is damaged, the committed one among them.
      let copies = 0;
      for (let at = bytes.indexOf(`${vg} {`); at >= 0; at = bytes.indexOf(`${vg} {`, at + 1)) {
        await patchFile(damaged, at + 2, Buffer.from("X"));
        copies++;
      }
      expect(copies).toBeGreaterThan(0);
      expectFormatError(await readAll(damaged), /LVM metadata area at byte \d+ .*metadata text checksum/);
    },
    SLOW,
  );
});

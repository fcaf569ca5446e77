import { execFileSync, spawnSync } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copySnapshots } from "../../lib/adapters/local/snapshots/copy-snapshots.ts";
import { lvmSnapshots } from "../../lib/adapters/local/snapshots/lvm-snapshots.ts";
import { SnapshotWindowError, SourceError } from "../../lib/errors.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { requireLoopTools, runCleanups } from "../helpers/loop-fs.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

/** The snapshot providers that run here: image copies, and LVM's checks of its disks. */

const cleanup: (() => void)[] = [];
let root: string;

beforeAll(async () => {
  root = await tempDir("vm-snapshots");
  cleanup.push(() => void removeDir(root));
});

afterAll(() => runCleanups(cleanup));

describe("copy snapshots", () => {
  it("copy every disk into a private directory, sparse and byte for byte, and remove it when released", async () => {
    const a = join(root, "a.img");
    const b = join(root, "b.img");
    const bytes = seededBytes(4, 5 << 20);
    bytes.fill(0, 1 << 20, 3 << 20);
    await writeFile(a, bytes);
    await writeFile(b, seededBytes(5, 100_000));
    const prepared = await copySnapshots({ directory: root }).prepare([
      { source: a, size: 0 },
      { source: b, size: 0 },
    ]);
    expect(prepared.fits(60_000)).toBe(true);
    const taken = await prepared.take(Date.now() + 60_000);
    expect(await readFile(taken.sources[0]!)).toEqual(bytes);
    expect(await readFile(taken.sources[1]!)).toEqual(await readFile(b));
    const dir = taken.sources[0]!.split("/").slice(0, -1).join("/");
    expect(execFileSync("stat", ["-c", "%a", dir], { encoding: "utf8" }).trim()).toBe("700");
    await taken.release();
    expect((await readdir(root)).filter((n) => n.startsWith("blockvault-snapshot-"))).toEqual([]);
  });

  it("say when copying does not fit the window, and stop at the deadline leaving nothing", async () => {
    const big = join(root, "big.img");
    await writeFile(big, seededBytes(6, 24 << 20));
    const prepared = await copySnapshots({ directory: root }).prepare([{ source: big, size: 0 }]);
    expect(prepared.fits(1)).toMatch(
      /copying the 24 MiB of the VM's disks takes about \d+ ms, more than the 1 ms freeze window allows/,
    );
    await expect(prepared.take(Date.now() - 1)).rejects.toBeInstanceOf(SnapshotWindowError);
    expect((await readdir(root)).filter((n) => n.startsWith("blockvault-snapshot-"))).toEqual([]);
  });

  it("refuse a source that is missing or a directory, naming it", async () => {
    await expect(
      copySnapshots().prepare([{ source: join(root, "missing.img"), size: 0 }]),
    ).rejects.toBeInstanceOf(SourceError);
    await expect(copySnapshots().prepare([{ source: root, size: 0 }])).rejects.toThrow(root);
  });
});

describe("LVM snapshots", () => {
  it("refuse a disk that is not a logical volume (a loop device), naming it", async () => {
    requireLoopTools(["losetup"]);
    const image = join(root, "pv.img");
    execFileSync("truncate", ["-s", "8M", image]);
    const device = execFileSync("losetup", ["--find", "--show", image], { encoding: "utf8" }).trim();
    cleanup.push(() => void spawnSync("losetup", ["--detach", device]));
    const refused = lvmSnapshots().prepare([{ source: device, size: 0 }]);
    await expect(refused).rejects.toBeInstanceOf(SourceError);
    await expect(lvmSnapshots().prepare([{ source: device, size: 0 }])).rejects.toThrow(
      `${device} is not an LVM logical volume`,
    );
  });
});

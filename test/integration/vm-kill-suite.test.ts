import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openLocalVault } from "../../lib/compose/local.ts";
import { PointState } from "../../lib/model.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { seededRandom } from "../helpers/jitter.ts";
import { outlive, runChild } from "../helpers/kill-harness.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { restoreBytes } from "../helpers/vault-ops.ts";

/**
 * The kill suite of VM backups: the real CLI backs up a three-disk VM in child processes killed
 * with SIGKILL at seeded random moments of the run (between taking the snapshots and the commit,
 * while some disks are stored and others are not, during the commit). After every batch: no disk
 * point is visible without its VM point, every visible VM point has all its disks' points, each
 * disk restores to an image that disk was backed up from (the same image set for one VM point),
 * `check --read-data` is clean, the next backup succeeds and no job is left running.
 * BLOCKVAULT_KILL_SEED replays a run; BLOCKVAULT_VM_KILLS sets how many kills it makes.
 */

const WINDOW_MS = 600;
process.env.BLOCKVAULT_LIVENESS_WINDOW_MS = String(WINDOW_MS);
process.env.BLOCKVAULT_WORKERS = "1";

const SEED = Number(process.env.BLOCKVAULT_KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const KILLS = Number(process.env.BLOCKVAULT_VM_KILLS ?? 30);
const DISKS = 3;
const DISK_BYTES = 2 << 20;

let root: string;
let vaultDir: string;
const random = seededRandom(SEED);
const images: Buffer[] = [];
/** Every content each disk's image ever had (SHA-256) when a backup started. */
const seen: Set<string>[] = Array.from({ length: DISKS }, () => new Set());
/** The image set (one hash per disk) each backup ran on, keyed by its run. */
const sets: string[][] = [];

beforeAll(async () => {
  console.log(`VM kill suite seed ${SEED} (BLOCKVAULT_KILL_SEED=${SEED} replays it), ${KILLS} kills`);
  root = await tempDir("vm-kill");
  vaultDir = join(root, "vault");
  process.env.BLOCKVAULT_SNAPSHOT_DIR = root;
  await runOk(["init", "--block-size", "4096"]);
  for (let i = 0; i < DISKS; i++) {
    images.push(seededBytes(SEED + i, DISK_BYTES));
    await writeFile(diskPath(i), images[i]!);
  }
  await runOk(["vm", "protect", "kv", ...[0, 1, 2].flatMap((i) => ["--disk", diskPath(i)])]);
}, 60_000);

afterAll(async () => {
  await removeDir(root);
});

const diskPath = (i: number) => join(root, `disk${i}.img`);

async function runOk(args: readonly string[]): Promise<string> {
  const end = await runChild([...args, "--vault", vaultDir], root);
  expect(end.code, `blockvault ${args.join(" ")}\n${end.stderr}`).toBe(0);
  return end.stdout;
}

/** Rewrites a few 64 KiB runs of each disk, as a running guest would, and notes the new images. */
async function changeDisks(): Promise<void> {
  for (let i = 0; i < DISKS; i++) {
    const image = images[i]!;
    const at = Math.floor(random() * (DISK_BYTES / 65536)) * 65536;
    seededBytes(Math.floor(random() * 2 ** 31), 65536).copy(image, at);
    await writeFile(diskPath(i), image);
    seen[i]!.add(sha256(image));
  }
  sets.push(images.map((img) => sha256(img)));
}

/** Everything the suite promises about the vault after kills. */
async function verify(): Promise<void> {
  await outlive(WINDOW_MS * 1.5);
  await changeDisks();
  await runOk(["backup", "--vm", "kv"]);
  await runOk(["reclaim", "--grace-hours", "0"]);
  const check = JSON.parse(await runOk(["check", "--read-data", "--json"])) as { ok: boolean };
  expect(check.ok, "check --read-data").toBe(true);
  const jobs = JSON.parse(await runOk(["jobs", "--json"])) as { status: string }[];
  expect(
    jobs.filter((j) => j.status === "running"),
    "jobs still running",
  ).toEqual([]);
  const vault = await openLocalVault(vaultDir);
  try {
    const vmPoints = await vault.listVmPoints("kv");
    const listed = new Set(vmPoints.flatMap((vp) => vp.points));
    const points = (await vault.listPoints()).filter((p) => p.state !== PointState.Purged);
    // All or nothing: no disk point without its VM point, no VM point missing a disk.
    expect(
      points.filter((p) => !listed.has(p.id)).map((p) => p.id),
      "disk points without a VM point",
    ).toEqual([]);
    for (const vp of vmPoints) {
      expect(vp.points).toHaveLength(DISKS);
      const hashes: string[] = [];
      for (const [i, id] of vp.points.entries()) {
        const point = await vault.getPoint(id);
        expect(point.disk).toBe(`kv.disk${i}`);
        hashes.push(sha256(await restoreBytes(vault, id, root)));
      }
      // One VM point is one moment: its disks' images are one of the sets a backup ran on.
      expect(
        sets.some((set) => set.every((h, i) => h === hashes[i])),
        `VM point ${vp.id}`,
      ).toBe(true);
    }
  } finally {
    await vault.close();
  }
}

describe("VM backups killed at random moments", () => {
  it("leave every VM point whole or absent, and the vault restorable", async () => {
    await changeDisks();
    const started = performance.now();
    await runOk(["backup", "--vm", "kv"]);
    const typical = performance.now() - started;
    let kills = 0;
    let heldThenKilled = 0;
    while (kills < KILLS) {
      for (let batch = 0; batch < 10 && kills < KILLS; batch++) {
        await changeDisks();
        const end = await runChild(
          ["backup", "--vm", "kv", "--vault", vaultDir],
          root,
          Math.floor(typical * (0.4 + 0.6 * random())),
        );
        if (end.killed) kills++;
        // 8: the VM's backup lease of a run killed less than a liveness window ago still holds.
        else expect([0, 8], end.stderr).toContain(end.code);
      }
      await verify();
      const vault = await openLocalVault(vaultDir);
      try {
        // Kills that came after a disk held its point's references, before the VM point was committed.
        const jobs = await vault.listJobs();
        heldThenKilled = jobs.filter(
          (j) =>
            j.disk?.startsWith("kv.") &&
            j.detail?.pendingPoint &&
            !j.recoveryPoint &&
            j.status === "abandoned",
        ).length;
      } finally {
        await vault.close();
      }
    }
    console.log(
      `VM kill suite: ${kills} kills, ${heldThenKilled} disk jobs killed holding an uncommitted point`,
    );
    expect(heldThenKilled, "no kill landed between the disks' stores and the VM commit").toBeGreaterThan(0);
  }, 900_000);
});

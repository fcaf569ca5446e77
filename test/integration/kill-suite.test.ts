import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openLocalVault } from "../../lib/compose/local.ts";
import { PointState } from "../../lib/model.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { seededRandom } from "../helpers/jitter.ts";
import { type ChildEnd, outlive, runChild } from "../helpers/kill-harness.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { restoreBytes } from "../helpers/vault-ops.ts";

/**
 * The kill suite: the real CLI in child processes, killed with SIGKILL at seeded random moments of
 * backup, gc, reclaim (--grace-hours 0) and restore, one or two at a time. After every batch of
 * kills, once the killed processes are past the liveness window: the next run of each command
 * succeeds, `check --read-data` is clean, every listed point restores to the image it was taken
 * from, nothing is left in the store's `.tmp/` or beside the restore target, and no job is still
 * running. BLOCKVAULT_KILL_SEED replays a run (the same commands, images and delays; what a
 * process has done when its delay ends depends on the machine); BLOCKVAULT_KILLS sets how many
 * kills it makes.
 */

// Short, so the suite need not wait a minute for a killed holder to be taken for dead.
const WINDOW_MS = 600;
process.env.BLOCKVAULT_LIVENESS_WINDOW_MS = String(WINDOW_MS);
process.env.BLOCKVAULT_WORKERS = "1";

const SEED = Number(process.env.BLOCKVAULT_KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const KILLS = Number(process.env.BLOCKVAULT_KILLS ?? 200);
const KILLS_PER_BATCH = 40;
const DISKS = ["d0", "d1", "d2"];
/** 2 MiB disks cut into 4 KiB blocks: 512 blocks each, a pack or more per full backup. */
const DISK_BYTES = 2 << 20;
const BLOCK = 4096;

type Op = "backup" | "gc" | "reclaim" | "restore";
const OPS: readonly Op[] = ["backup", "backup", "gc", "reclaim", "restore"];

let root: string;
let vaultDir: string;
const random = seededRandom(SEED);
/** Every image each disk was ever backed up from (SHA-256), and the ones known per point. */
const candidates = new Map<string, Set<string>>(DISKS.map((d) => [d, new Set()]));
const knownImage = new Map<string, string>();
const latestImage = new Map<string, Buffer>();
let images = 0;
/** Points a restore may pick: the vault's available points as of the last batch. */
let restorable: string[] = [];

beforeAll(async () => {
  console.log(`kill suite seed ${SEED} (BLOCKVAULT_KILL_SEED=${SEED} replays it), ${KILLS} kills`);
  root = await tempDir("kill");
  vaultDir = join(root, "vault");
  const init = await runChild(
    ["init", "--vault", vaultDir, "--name", "kill", "--block-size", String(BLOCK)],
    root,
  );
  expect(init.code, init.stderr).toBe(0);
  for (const [i, disk] of DISKS.entries()) latestImage.set(disk, seededBytes(SEED + i, DISK_BYTES));
});

afterAll(async () => {
  await removeDir(root);
});

/** A new image of `disk`: its latest with a few 64 KiB runs rewritten. */
async function nextImage(disk: string): Promise<{ path: string; hash: string }> {
  const image = Buffer.from(latestImage.get(disk)!);
  for (let run = 0; run < 3; run++) {
    const at = Math.floor(random() * (DISK_BYTES / 65536)) * 65536;
    seededBytes(Math.floor(random() * 2 ** 31), 65536).copy(image, at);
  }
  latestImage.set(disk, image);
  const path = join(root, `img-${images++}.img`);
  await writeFile(path, image);
  const hash = sha256(image);
  candidates.get(disk)!.add(hash);
  return { path, hash };
}

/** The CLI arguments of one run of `op`, and what to note when it succeeds. */
async function command(op: Op, busy: Set<string>): Promise<{ args: string[]; done?: (out: string) => void }> {
  const vault = ["--vault", vaultDir];
  if (op === "gc") return { args: ["gc", ...vault] };
  if (op === "reclaim") return { args: ["reclaim", "--grace-hours", "0", ...vault] };
  if (op === "restore" && restorable.length > 0) {
    const point = restorable[Math.floor(random() * restorable.length)]!;
    return { args: ["restore", point, "--to", join(root, "restore.img"), "--force", ...vault] };
  }
  // Two backups of one disk at once would race on its commit; each cycle picks distinct disks.
  const free = DISKS.filter((d) => !busy.has(d));
  const disk = free[Math.floor(random() * free.length)]!;
  busy.add(disk);
  const { path, hash } = await nextImage(disk);
  return {
    args: ["backup", path, "--disk", disk, "--json", ...vault],
    done: (out) => knownImage.set((JSON.parse(out) as { recoveryPointId: string }).recoveryPointId, hash),
  };
}

/**
 * Exit codes a run that was not killed may end with: success, or a conflict with a concurrent (or
 * just killed, still within the window) holder: reclaim refusing a running backup, gc's lease.
 */
function expectOrderly(end: ChildEnd, args: readonly string[]): void {
  if (end.killed) return;
  expect([0, 8], `blockvault ${args.join(" ")}\n${end.stderr}`).toContain(end.code);
}

/** Temporaries seen right after kills: each must be gone after the next runs. */
const leftoversSeen = new Set<string>();

/** Notes the store's `.tmp/` entries and the restore temporaries there are now. */
async function noteLeftovers(): Promise<void> {
  const tmp = join(vaultDir, "objects", ".tmp");
  for (const name of await readdir(tmp).catch(() => [] as string[])) leftoversSeen.add(join(tmp, name));
  for (const name of await readdir(root)) if (name.includes(".partial-")) leftoversSeen.add(join(root, name));
}

/** Kills per command, for the report. */
const killsOf = new Map<Op, number>();

/** Runs one or two commands at once, each killed after a seeded delay within its usual run time. */
async function cycle(typical: Map<Op, number>): Promise<number> {
  const busy = new Set<string>();
  const count = random() < 0.7 ? 2 : 1;
  const runs: Promise<ChildEnd>[] = [];
  for (let i = 0; i < count; i++) {
    const op = OPS[Math.floor(random() * OPS.length)]!;
    const { args, done } = await command(op, busy);
    const delay = Math.floor(random() * (typical.get(op) ?? 500) * 0.95);
    runs.push(
      runChild(args, root, delay).then((end) => {
        if (end.killed) killsOf.set(op, (killsOf.get(op) ?? 0) + 1);
        expectOrderly(end, args);
        if (end.code === 0) done?.(end.stdout);
        return end;
      }),
    );
  }
  const killed = (await Promise.all(runs)).filter((e) => e.killed).length;
  if (killed > 0) await noteLeftovers();
  return killed;
}

/** Runs a command to its end; it must succeed. */
async function runOk(args: readonly string[]): Promise<ChildEnd> {
  const end = await runChild([...args, "--vault", vaultDir], root);
  expect(end.code, `blockvault ${args.join(" ")}\n${end.stderr}`).toBe(0);
  return end;
}

/** The next run of every command after a batch of kills, then every promise the suite checks. */
async function verifyAfterKills(): Promise<void> {
  await outlive(WINDOW_MS * 1.5);
  const backup = await nextImage("d0");
  const b = await runOk(["backup", backup.path, "--disk", "d0", "--json"]);
  knownImage.set((JSON.parse(b.stdout) as { recoveryPointId: string }).recoveryPointId, backup.hash);
  await runOk(["gc"]);
  await runOk(["reclaim", "--grace-hours", "0"]);
  const check = await runOk(["check", "--read-data", "--json"]);
  expect(JSON.parse(check.stdout), "check --read-data").toMatchObject({ ok: true, missingPacks: [] });
  const jobs = JSON.parse((await runOk(["jobs", "--json"])).stdout) as { id: string; status: string }[];
  expect(
    jobs.filter((j) => j.status === "running"),
    "jobs still running",
  ).toEqual([]);
  const vault = await openLocalVault(vaultDir);
  try {
    const points = (await vault.listPoints()).filter((p) => p.state !== PointState.Purged);
    for (const point of points) {
      const hash = sha256(await restoreBytes(vault, point.id, root));
      const expected = knownImage.get(point.id);
      if (expected) expect(hash, `point ${point.id}`).toBe(expected);
      else expect(candidates.get(point.disk)!.has(hash), `point ${point.id} of ${point.disk}`).toBe(true);
    }
    // Older points go, so that gc has work in the next batch and the vault stays small.
    const available = points.filter((p) => p.state === PointState.Available);
    for (const disk of DISKS) {
      for (const old of available.filter((p) => p.disk === disk).slice(2)) await vault.deletePoint(old.id);
    }
    restorable = (await vault.listPoints()).filter((p) => p.state === PointState.Available).map((p) => p.id);
  } finally {
    await vault.close();
  }
  if (restorable.length > 0)
    await runOk(["restore", restorable[0]!, "--to", join(root, "restore.img"), "--force"]);
  await runOk(["run-due", "--at", new Date(Date.now() + 30 * 86_400_000).toISOString()]);
  await expectNoLeftovers();
}

/** Nothing in the store's `.tmp/`, no restore temporaries beside the target. */
async function expectNoLeftovers(): Promise<void> {
  const remaining = [...leftoversSeen].filter((path) => existsSync(path));
  expect(remaining, "temporaries of killed processes still there").toEqual([]);
  const tmp = await readdir(join(vaultDir, "objects", ".tmp")).catch(() => [] as string[]);
  expect(tmp, "leftovers in .tmp").toEqual([]);
  const partials = (await readdir(root)).filter((n) => n.includes(".partial-"));
  expect(partials, "restore temporaries").toEqual([]);
}

/** How long each command takes unkilled on this machine, so kills land anywhere in it. */
async function typicalDurations(): Promise<Map<Op, number>> {
  const typical = new Map<Op, number>();
  const image = await nextImage("d1");
  const b = await runOk(["backup", image.path, "--disk", "d1", "--json"]);
  knownImage.set((JSON.parse(b.stdout) as { recoveryPointId: string }).recoveryPointId, image.hash);
  typical.set("backup", b.ms);
  typical.set("gc", (await runOk(["gc"])).ms);
  typical.set("reclaim", (await runOk(["reclaim", "--grace-hours", "0"])).ms);
  const point = (JSON.parse(b.stdout) as { recoveryPointId: string }).recoveryPointId;
  restorable = [point];
  typical.set("restore", (await runOk(["restore", point, "--to", join(root, "restore.img"), "--force"])).ms);
  return typical;
}

describe("SIGKILL at random moments of backup, gc, reclaim and restore", () => {
  it(`loses nothing, leaves nothing behind and leaves no job running (${KILLS} kills)`, async () => {
    const started = performance.now();
    const typical = await typicalDurations();
    let kills = 0;
    let batch = 0;
    while (kills < KILLS) {
      batch += await cycle(typical);
      if (batch >= KILLS_PER_BATCH || kills + batch >= KILLS) {
        kills += batch;
        batch = 0;
        await verifyAfterKills();
      }
    }
    const image = await readFile(join(root, "restore.img")).catch(() => undefined);
    expect(image?.length).toBe(DISK_BYTES);
    // The kills did leave temporaries and dead jobs behind, and the next runs dealt with them.
    expect(leftoversSeen.size).toBeGreaterThan(0);
    const jobs = JSON.parse((await runOk(["jobs", "--json"])).stdout) as { status: string }[];
    expect(jobs.filter((j) => j.status === "abandoned").length).toBeGreaterThan(0);
    console.log(
      `kill suite seed ${SEED}: ${kills} kills (${JSON.stringify(Object.fromEntries(killsOf))}), ${leftoversSeen.size} temporaries of killed processes removed, in ${((performance.now() - started) / 1000).toFixed(1)} s; unkilled run ms ${JSON.stringify(Object.fromEntries([...typical].map(([k, v]) => [k, Math.round(v)])))}`,
    );
  }, 600_000);
});

import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QemuGaClient } from "../../lib/adapters/local/guest-agents/qemu-ga-client.ts";
import { type FsyncWriter, startFsyncWriter, type WriterOp } from "../helpers/fsync-writer.ts";
import { runChild } from "../helpers/kill-harness.ts";
import {
  e2fsck,
  type LoopFs,
  makeLoopFs,
  needsRecovery,
  requireLoopTools,
  runCleanups,
} from "../helpers/loop-fs.ts";
import { type RunningQemuGa, startQemuGa } from "../helpers/qemu-ga.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

/**
 * The VM as the protected unit, for real: two ext4 file systems on loop devices, mounted, a
 * process writing and fsync-ing into both, and the real qemu-ga (qemu-guest-agent) on a unix
 * socket of this machine, which acts on this machine's file systems. So the tests only ever freeze
 * their own two loop mounts by name (the freeze guard refuses anything else). Each VM backup runs
 * the real CLI in a child process with the copy snapshot provider.
 */

// Short, so a backup killed in a test is taken for dead (its VM's lease lapses) within seconds.
const WINDOW_MS = 1500;
process.env.BLOCKVAULT_LIVENESS_WINDOW_MS = String(WINDOW_MS);

const BIN = fileURLToBin();
function fileURLToBin(): string {
  return new URL("../../bin/blockvault.mjs", import.meta.url).pathname;
}

interface BackupJson {
  vmRecoveryPointId: string;
  recoveryPointIds: string[];
  consistency: string;
  consistencyReason?: string;
  freezeMs?: number;
  jobId: string;
  capture: { frozenAt?: number; thawedAt?: number; steps: { step: string; ok: boolean }[] };
}

const cleanup: (() => void)[] = [];
let root: string;
let vault: string;
let disks: LoopFs[];
let ga: RunningQemuGa;
let writer: FsyncWriter;
const freezeWindows: number[] = [];

async function cli(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runChild([...args, "--vault", vault], root);
}

async function cliJson<T>(args: readonly string[]): Promise<T> {
  const end = await cli([...args, "--json"]);
  expect(end.code, `blockvault ${args.join(" ")}\n${end.stderr}`).toBe(0);
  return JSON.parse(end.stdout) as T;
}

function protect(name: string, extra: readonly string[]): Promise<unknown> {
  const mounts = disks.flatMap((d) => ["--freeze-mount", d.mount]);
  return cliJson([
    "vm",
    "protect",
    name,
    ...disks.flatMap((d) => ["--disk", d.device]),
    "--snapshot",
    "copy",
    ...mounts,
    ...extra,
  ]);
}

/** Restores a VM point and returns its disks' image paths. */
async function restoreDisks(vmPoint: string, dir: string): Promise<string[]> {
  const r = await cliJson<{ descriptor: { disks: { file: string }[] } }>([
    "restore",
    "--vm-point",
    vmPoint,
    "--to",
    dir,
  ]);
  return r.descriptor.disks.map((d) => join(dir, d.file));
}

beforeAll(async () => {
  requireLoopTools(["mkfs.ext4", "e2fsck", "dumpe2fs", "losetup", "mount", "umount", "fsfreeze", "qemu-ga"]);
  root = await tempDir("vm-consistency");
  cleanup.push(() => void removeDir(root));
  disks = [await makeLoopFs(root, "m0", 48, cleanup), await makeLoopFs(root, "m1", 32, cleanup)];
  ga = await startQemuGa(root, cleanup);
  writer = startFsyncWriter(
    disks.map((d) => join(d.mount, "journal.log")),
    cleanup,
  );
  vault = join(root, "vault");
  process.env.BLOCKVAULT_SNAPSHOT_DIR = join(root, "snapshots");
  (await import("node:fs")).mkdirSync(process.env.BLOCKVAULT_SNAPSHOT_DIR);
  const init = await runChild(["init", "--vault", vault, "--block-size", "65536"], root);
  expect(init.code, init.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await writer?.stop();
  // Whatever a failed test left frozen is thawed before anything is unmounted.
  await ga?.client.call("guest-fsfreeze-thaw", undefined, 5000).catch(() => undefined);
  runCleanups(cleanup);
  if (freezeWindows.length > 0) {
    const sorted = [...freezeWindows].sort((a, b) => a - b);
    console.log(
      `freeze windows (ms): ${sorted.join(", ")}; median ${sorted[Math.floor(sorted.length / 2)]}, max ${sorted.at(-1)}`,
    );
  }
}, 60_000);

describe("a two-disk VM on loop-mounted ext4 with a running writer, through the real qemu-ga", () => {
  it("is file-system-consistent: the writer waits only inside the freeze window, the restored disks need no journal recovery", async () => {
    await protect("web", ["--agent", `qemu-ga:${ga.socket}`]);
    let heldRuns = 0;
    for (let run = 0; run < 3; run++) {
      const seen = writer.ops.length;
      const r = await cliJson<BackupJson>(["backup", "--vm", "web"]);
      expect([r.consistency, r.consistencyReason]).toEqual([
        "file-system-consistent",
        "no application pre-script is configured",
      ]);
      freezeWindows.push(r.freezeMs!);
      const { frozenAt, thawedAt } = r.capture;
      const ops = writer.ops.slice(seen);
      const inWindow = (op: WriterOp) => op.end >= frozenAt! && op.start <= thawedAt!;
      // The writer was held by the freeze: a write waited across most of the window...
      const held = Math.max(
        ...ops.filter(inWindow).map((op) => Math.min(op.end, thawedAt!) - Math.max(op.start, frozenAt!)),
      );
      // (the writer, descheduled on a loaded machine, may issue no write in a short window: the
      // runs together must show one held; a write issued inside it always ends after the thaw)
      if (held >= r.freezeMs! * 0.5) heldRuns++;
      const issuedInside = ops.filter((op) => op.start > frozenAt! + 20 && op.start < thawedAt! - 20);
      for (const op of issuedInside) expect(op.end).toBeGreaterThanOrEqual(thawedAt! - 50);
      // ...no longer than the window lasted, and nothing outside the window stalled like that.
      expect(Math.max(...ops.filter(inWindow).map((op) => op.end - op.start))).toBeLessThanOrEqual(
        r.freezeMs! + 500,
      );
      // Outside it a write may wait on a loaded machine's disk, but never as long as the freeze
      // held one (and never a second, when the freeze held less).
      const outside = ops.filter((op) => !inWindow(op)).map((op) => op.end - op.start);
      expect(Math.max(0, ...outside)).toBeLessThan(Math.max(1000, held));
      expect(r.freezeMs!).toBeLessThan(10_000);
    }
    expect(heldRuns).toBeGreaterThan(0);
    expect(writer.ops.length).toBeGreaterThan(50);
    const listed = await cliJson<{ id: string; consistency: string; points: string[] }[]>([
      "list",
      "--vm",
      "web",
    ]);
    expect(listed.map((p) => p.consistency)).toEqual(Array(3).fill("file-system-consistent"));
    for (const image of await restoreDisks(listed[0]!.id, join(root, "restore-fs"))) {
      const check = e2fsck(image);
      expect(check.clean, check.output).toBe(true);
      expect(needsRecovery(image)).toBe(false);
    }
  }, 120_000);

  it("is application-consistent with a pre-script; scripts run in order around the freeze, their output in the job", async () => {
    const marks = join(root, "marks");
    await protect("app", [
      "--agent",
      `qemu-ga:${ga.socket}`,
      "--pre-script",
      `echo pre-ran; date +%s%3N >> ${marks}`,
      "--post-script",
      `echo post-ran; date +%s%3N >> ${marks}`,
    ]);
    const r = await cliJson<BackupJson>(["backup", "--vm", "app"]);
    expect(r.consistency).toBe("application-consistent");
    expect(r.consistencyReason).toBeUndefined();
    freezeWindows.push(r.freezeMs!);
    expect(r.capture.steps.map((s) => s.step)).toEqual([
      "pre-script",
      "freeze",
      "snapshot",
      "thaw",
      "post-script",
    ]);
    const [pre, post] = (await import("node:fs")).readFileSync(marks, "utf8").trim().split("\n").map(Number);
    expect(pre!).toBeLessThanOrEqual(r.capture.frozenAt!);
    expect(post!).toBeGreaterThanOrEqual(r.capture.thawedAt!);
    const jobs = await cliJson<{ id: string; detail?: Record<string, unknown> }[]>(["jobs"]);
    const job = jobs.find((j) => j.id === r.jobId)!;
    expect([job.detail?.["script.0.stdout"], job.detail?.["script.1.stdout"]]).toEqual([
      "pre-ran\n",
      "post-ran\n",
    ]);
    const listed = await cliJson<{ consistency: string }[]>(["list", "--vm", "app"]);
    expect(listed[0]!.consistency).toBe("application-consistent");
  }, 120_000);

  it("is file-system-consistent when a pre-script fails, saying which; the post-scripts still run", async () => {
    await protect("prefail", [
      "--agent",
      `qemu-ga:${ga.socket}`,
      "--pre-script",
      "echo flushing; exit 3",
      "--pre-script",
      "echo never",
      "--post-script",
      "echo resumed",
    ]);
    const r = await cliJson<BackupJson & { capture: { scripts: { command: string; exitCode: number }[] } }>([
      "backup",
      "--vm",
      "prefail",
    ]);
    expect(r.consistency).toBe("file-system-consistent");
    expect(r.consistencyReason).toBe("pre-script 1 (echo flushing; exit 3) exited 3");
    expect(r.capture.scripts.map((s) => [s.command, s.exitCode])).toEqual([
      ["echo flushing; exit 3", 3],
      ["echo resumed", 0],
    ]);
    freezeWindows.push(r.freezeMs!);
  }, 120_000);

  it("falls back to crash-consistent, saying why, when the agent is unreachable; that image needs journal recovery", async () => {
    await protect("lost", ["--agent", `qemu-ga:${join(root, "no-such.sock")}`]);
    const r = await cliJson<BackupJson>(["backup", "--vm", "lost"]);
    expect(r.consistency).toBe("crash-consistent");
    expect(r.consistencyReason).toMatch(/qemu-ga at .*no-such\.sock is unreachable/);
    const listed = await cliJson<{ consistency: string; consistencyReason: string }[]>([
      "list",
      "--vm",
      "lost",
    ]);
    expect(listed[0]).toMatchObject({
      consistency: "crash-consistent",
      consistencyReason: r.consistencyReason,
    });
    const images = await restoreDisks(r.vmRecoveryPointId, join(root, "restore-crash"));
    // The file systems were mounted and written to: their copies are as after a power cut.
    expect(images.map(needsRecovery)).toEqual([true, true]);
  }, 120_000);

  it("a VM policy's minimum level turns the fallback into a failed job", async () => {
    await protect("strict", [
      "--agent",
      `qemu-ga:${join(root, "no-such.sock")}`,
      "--minimum-consistency",
      "file-system-consistent",
    ]);
    const end = await cli(["backup", "--vm", "strict"]);
    expect(end.code, end.stderr).toBe(12);
    expect(end.stderr).toMatch(/reached crash-consistent, below the file-system-consistent/);
    expect(await cliJson<unknown[]>(["list", "--vm", "strict"])).toEqual([]);
  }, 60_000);

  it("thaws when blockvault is killed inside the freeze window (the watchdog), and commits nothing", async () => {
    await protect("killed", ["--agent", `qemu-ga:${ga.socket}`, "--freeze-window-ms", "20000"]);
    const child = spawn(process.execPath, [BIN, "backup", "--vm", "killed", "--vault", vault], {
      stdio: "ignore",
    });
    const probe = new QemuGaClient(ga.socket);
    let frozen = false;
    for (let i = 0; i < 600 && !frozen; i++) {
      frozen =
        (await probe.call("guest-fsfreeze-status", undefined, 2000).catch(() => "thawed")) === "frozen";
      if (!frozen) await sleep(5);
    }
    expect(frozen, "the backup was never seen frozen").toBe(true);
    const exited = new Promise((resolve) => child.on("exit", resolve));
    child.kill("SIGKILL");
    const killedAt = Date.now();
    let status = "frozen";
    while (status === "frozen" && Date.now() - killedAt < 10_000) {
      await sleep(50);
      status = await probe.call<string>("guest-fsfreeze-status", undefined, 2000).catch(() => "frozen");
    }
    expect(status).toBe("thawed");
    // Thawed because its parent died, well before the 20 s window ended.
    expect(Date.now() - killedAt).toBeLessThan(5000);
    const seen = writer.ops.length;
    await sleep(300);
    expect(writer.ops.length).toBeGreaterThan(seen);
    expect(await cliJson<unknown[]>(["list", "--vm", "killed"])).toEqual([]);
    // Copies the killed backup made (if it got that far) hold the disks' data: the next VM backup
    // removes them.
    await exited;
    await sleep(WINDOW_MS * 1.5);
    const snapshots = process.env.BLOCKVAULT_SNAPSHOT_DIR!;
    expect((await readdir(snapshots)).length).toBeLessThanOrEqual(1);
    await cliJson(["backup", "--vm", "killed"]);
    expect(await readdir(snapshots)).toEqual([]);
  }, 60_000);
});

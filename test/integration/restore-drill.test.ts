import { spawnSync } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { predictRestoreMs } from "../../lib/app/observe/drill.ts";
import { gatherFacts } from "../../lib/app/observe/facts.ts";
import { prometheusText } from "../../lib/app/observe/prometheus.ts";
import { type EmbeddedRuntime, startEmbeddedRuntime } from "../../lib/compose/embedded.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { family, parsePrometheus, sample } from "../helpers/prometheus-parser.ts";
import { runTool } from "../helpers/system-tool.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

const DAY = 86_400_000;

describe("restore drills (policy.restoreDrill)", () => {
  let root: string;
  let scratch: string;
  let vault: Vault;
  let runtime: EmbeddedRuntime;
  let now = Date.parse("2026-05-01T12:00:00Z");

  beforeAll(async () => {
    root = await tempDir("drill");
    scratch = join(root, "scratch");
    await mkdir(scratch);
    vault = await initLocalVault(
      join(root, "vault"),
      { name: "drill", blockSize: 4096 },
      { clock: { now: () => now } },
    );
    // A real ext4 file system with a file in it, made by e2fsprogs.
    const fs = join(root, "fs.img");
    await writeFile(fs, Buffer.alloc(0));
    runTool("mkfs.ext4", ["-q", "-F", fs, "16M"], "e2fsprogs");
    const payload = join(root, "payload.bin");
    await writeFile(payload, seededBytes(21, 300_000));
    runTool("debugfs", ["-w", "-R", `write ${payload} payload.bin`, fs], "e2fsprogs");
    // Not a file system at all: restorable, but its check must fail.
    const junk = join(root, "junk.img");
    await writeFile(junk, seededBytes(22, 1024 * 1024));
    await vault.createPolicy({
      name: "drilled",
      schedule: { kind: "daily", times: ["01:00"] },
      timeZone: "UTC",
      retention: { daily: { days: 7 } },
      snapshotRetentionDays: 1,
      restoreDrill: { everyDays: 1, check: "ext4" },
    });
    for (const [disk, path] of [
      ["fs", fs],
      ["junk", junk],
    ] as const) {
      const source = await openFileSource(path);
      await vault.protect(source, disk, "drilled").finally(() => source.close());
      const s = await openFileSource(path);
      await vault.backup(s, { disk }).finally(() => s.close());
    }
    runtime = await startEmbeddedRuntime({
      vault,
      principals: async () => vault.principal,
      port: 0,
      tickMs: 0,
      waitMs: 0,
      retryIntervalMs: 0,
      drillScratch: scratch,
    });
  });
  afterAll(async () => {
    await runtime.stop();
    await vault.close();
    await removeDir(root);
  });

  it("restores each disk's latest point, re-hashes every block, runs e2fsck -fn and cleans up", async () => {
    const report = await runtime.tick();
    const byDisk = Object.fromEntries(report.drills.map((d) => [d.disk, d]));
    const [fsPoint] = await vault.listPoints("fs");
    expect(byDisk.fs).toMatchObject({
      ok: true,
      recoveryPoint: fsPoint!.id,
      blocksVerified: (16 * 1024 * 1024) / 4096,
      predictedMs: predictRestoreMs(16 * 1024 * 1024),
      check: { command: "e2fsck -fn", ok: true, exitCode: 0 },
    });
    expect(byDisk.fs!.restoreMs).toBeGreaterThan(0);
    const job = await vault.ctx.deps.catalog.getJob(vault.id, byDisk.fs!.jobId);
    expect(job).toMatchObject({
      type: "drill",
      status: "completed",
      disk: "fs",
      bytesScanned: 16 * 1024 * 1024,
    });
    expect(job.detail).toMatchObject({
      recoveryPoint: fsPoint!.id,
      restoreMs: byDisk.fs!.restoreMs,
      predictedMs: byDisk.fs!.predictedMs,
      checkCommand: "e2fsck -fn",
      checkPassed: true,
    });
    expect(await readdir(scratch)).toEqual([]);
    const families = parsePrometheus(await prometheusText(await gatherFacts(vault)));
    const measured = family(families, "blockvault_drill_restore_seconds");
    expect(sample(measured, measured.name, { disk: "fs" })).toBe(byDisk.fs!.restoreMs! / 1000);
    const predicted = family(families, "blockvault_drill_predicted_restore_seconds");
    expect(sample(predicted, predicted.name, { disk: "fs" })).toBe(byDisk.fs!.predictedMs! / 1000);
    expect(sample(measured, measured.name, { disk: "junk" })).toBeUndefined();
  });

  it("fails and alerts a drill whose restored file system does not check", async () => {
    const junkDrill = (await vault.listJobs()).find((j) => j.type === "drill" && j.disk === "junk")!;
    expect(junkDrill.status).toBe("failed");
    expect(junkDrill.error).toMatch(/^e2fsck -fn found the restored file system damaged \(exit 8\)/);
    const alert = runtime.local.alerts.published.find(
      (a) => a.subject === "blockvault: restore drill of disk junk failed",
    );
    expect(alert?.jobId).toBe(junkDrill.id);
  });

  it("drills once per run, and again the next day", async () => {
    expect((await runtime.tick()).drills).toEqual([]);
    now += DAY;
    const next = await runtime.tick();
    expect(next.drills.map((d) => [d.disk, d.ok])).toEqual([
      ["fs", true],
      ["junk", false],
    ]);
    expect(await readdir(scratch)).toEqual([]);
  });

  it("fails a drill of a disk with no point to restore", async () => {
    const gone = join(root, "gone.img");
    await writeFile(gone, seededBytes(23, 64 * 1024));
    const source = await openFileSource(gone);
    await vault.protect(source, "gone", "drilled").finally(() => source.close());
    // Its source disappears before its first backup: the scheduled backups fail, no point exists.
    await (await import("node:fs/promises")).rm(gone);
    now += DAY;
    const report = await runtime.tick();
    const drill = report.drills.find((d) => d.disk === "gone")!;
    expect(drill).toMatchObject({ ok: false, error: "disk gone has no available recovery point to restore" });
    expect(runtime.local.alerts.published.map((a) => a.subject)).toContain(
      "blockvault: restore drill of disk gone failed",
    );
  });

  it("runs each drill once when two ticks race, and removes what a killed drill left", async () => {
    // A drill killed before its cleanup: its owner process is gone. Another, still running, is not.
    const dead = spawnSync("true").pid!;
    const left = join(scratch, "blockvault-drill-killed");
    await mkdir(left);
    await writeFile(join(left, "owner.pid"), String(dead));
    await writeFile(join(left, "drill.img"), Buffer.alloc(64 * 1024));
    const live = join(scratch, "blockvault-drill-running");
    await mkdir(live);
    await writeFile(join(live, "owner.pid"), String(process.pid));
    now += DAY;
    const [a, b] = await Promise.all([runtime.tick(), runtime.tick()]);
    const disks = [...a.drills, ...b.drills].map((d) => d.disk).sort();
    expect(disks).toEqual(["fs", "gone", "junk"]);
    expect(await readdir(scratch)).toEqual(["blockvault-drill-running"]);
  });
});

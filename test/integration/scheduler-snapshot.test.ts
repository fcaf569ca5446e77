import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { schedulerTick } from "../../lib/app/scheduler.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import { buildLocalApp, type LocalApp } from "../../lib/compose/local-app.ts";
import { ValidationError } from "../../lib/errors.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let root: string;
let vault: Vault;
let now: number;
let imagePath: string;
let local: LocalApp;

const policy = {
  name: "six-hourly",
  schedule: { kind: "hourly", everyHours: 6, windowStart: "00:00", windowHours: 24 },
  timeZone: "UTC",
  retention: { daily: { days: 7 } },
  snapshotRetentionDays: 2,
};

beforeEach(async () => {
  root = await tempDir("scheduler");
  now = Date.parse("2026-03-01T00:30:00Z");
  vault = await initLocalVault(
    join(root, "vault"),
    { name: "sched", blockSize: 4096 },
    { clock: { now: () => now } },
  );
  imagePath = join(root, "disk.img");
  await writeFile(imagePath, seededBytes(1, 64 * 1024));
  local = buildLocalApp({
    vault,
    workflows: () => ({
      start: async () => {
        throw new ValidationError("no state machines in this test");
      },
    }),
    queue: { maxAttempts: 3, backoffMs: () => 1 },
    alertSink: () => {},
  });
  await vault.createPolicy(policy);
  const source = await openFileSource(imagePath);
  try {
    await vault.protect(source, "web", "six-hourly");
  } finally {
    await source.close();
  }
});

afterEach(async () => {
  await vault.close();
  await removeDir(root);
});

async function tick() {
  const report = await schedulerTick(local.app);
  await local.queue.drained();
  return report;
}

describe("the scheduler and the snapshot workers", () => {
  it("create one job per disk and slot, however often the scheduler ticks, and back it up", async () => {
    now = Date.parse("2026-03-01T06:01:00Z");
    const [first, overlapping] = await Promise.all([schedulerTick(local.app), schedulerTick(local.app)]);
    await local.queue.drained();
    const sent = [...first.sent, ...overlapping.sent];
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ disk: "web", slot: Date.parse("2026-03-01T06:00:00Z") });
    expect((await tick()).sent).toEqual([]);
    const jobs = await vault.listJobs({ disk: "web" });
    expect(jobs.map((j) => [j.id, j.status, j.attempts])).toEqual([[sent[0]!.jobId, "completed", 1]]);
    const [point] = await vault.listPoints("web");
    expect(sha256(await restoreBytes(vault, point!.id, root))).toBe(sha256(seededBytes(1, 64 * 1024)));

    // The next slot, after the guest wrote some blocks: an incremental on top.
    const changed = seededBytes(1, 64 * 1024);
    seededBytes(2, 4096).copy(changed, 8192);
    await writeFile(imagePath, changed);
    now = Date.parse("2026-03-01T12:00:30Z");
    expect((await tick()).sent).toHaveLength(1);
    const points = await vault.listPoints("web");
    expect(points).toHaveLength(2);
    expect(points[0]!.parent).toBe(point!.id);
    expect(sha256(await restoreBytes(vault, points[0]!.id, root))).toBe(sha256(changed));
  });

  it("retries a failing backup, then marks the job failed, dead-letters it and alerts", async () => {
    await rm(imagePath);
    now = Date.parse("2026-03-01T06:01:00Z");
    const { sent } = await tick();
    const [job] = await vault.listJobs({ disk: "web" });
    expect(job).toMatchObject({ id: sent[0]!.jobId, status: "failed", attempts: 3 });
    expect(job!.error).toMatch(/disk\.img/);
    expect(local.queue.deadLetters.map((d) => d.request.jobId)).toEqual([sent[0]!.jobId]);
    expect(local.alerts.published).toHaveLength(1);
    expect(local.alerts.published[0]!.jobId).toBe(sent[0]!.jobId);
    // A failed job is not scheduled again for the same slot.
    expect((await tick()).sent).toEqual([]);
  });

  it("ignores a redelivered request whose job already completed", async () => {
    now = Date.parse("2026-03-01T06:01:00Z");
    const { sent } = await tick();
    await local.queue.send(sent);
    await local.queue.drained();
    expect(await vault.listPoints("web")).toHaveLength(1);
    expect((await vault.listJobs({ disk: "web" }))[0]!.attempts).toBe(1);
  });
});

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { schedulerTick } from "../../lib/app/scheduler.ts";
import { initLocalVault, openLocalVault } from "../../lib/compose/local.ts";
import { buildLocalApp, type LocalApp } from "../../lib/compose/local-app.ts";
import { copyRef } from "../../lib/engine/copy/point-source.ts";
import { ValidationError } from "../../lib/errors.ts";
import { JobStatus, PointState } from "../../lib/model.ts";
import { copyJobId } from "../../lib/rules/copy-rules.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const DAY_MS = 24 * 60 * 60 * 1000;
const SIZE = 256 * 1024;

let root: string;
let vault: Vault;
let now: number;
let imagePath: string;
let destinationDir: string;
let local: LocalApp;
let alerts: string[];

function policy(copyTo: unknown) {
  return {
    name: "daily-copied",
    schedule: { kind: "daily", times: ["02:00"] },
    timeZone: "UTC",
    retention: { daily: { days: 7 } },
    snapshotRetentionDays: 2,
    copyTo,
  };
}

beforeEach(async () => {
  root = await tempDir("copy-rules");
  now = Date.parse("2026-03-01T00:30:00Z");
  vault = await initLocalVault(
    join(root, "vault"),
    { name: "primary", blockSize: 4096 },
    { clock: { now: () => now } },
  );
  destinationDir = join(root, "dr");
  await (await initLocalVault(destinationDir, { name: "dr", blockSize: 4096 })).close();
  imagePath = join(root, "disk.img");
  await writeFile(imagePath, seededBytes(1, SIZE));
  alerts = [];
  local = buildLocalApp({
    vault,
    workflows: () => ({
      start: async () => {
        throw new ValidationError("no state machines in this test");
      },
    }),
    queue: { maxAttempts: 1, backoffMs: () => 1 },
    alertSink: (line) => alerts.push(line),
  });
  const source = await openFileSource(imagePath);
  try {
    await vault.createPolicy(policy([{ vault: destinationDir, retention: { days: 30 } }]));
    await vault.protect(source, "web", "daily-copied");
  } finally {
    await source.close();
  }
});

afterEach(async () => {
  await vault.close();
  await removeDir(root);
});

/** A tick at `at`, then one more once its backups are done: the copies follow the backups. */
async function dayAt(at: string) {
  now = Date.parse(at);
  await schedulerTick(local.app);
  await local.queue.drained();
  return schedulerTick(local.app);
}

async function withDestination<T>(fn: (dr: Vault) => Promise<T>, clock?: () => number): Promise<T> {
  const dr = await openLocalVault(destinationDir, clock ? { clock: { now: clock } } : {});
  try {
    return await fn(dr);
  } finally {
    await dr.close();
  }
}

describe("copy rules of a policy", () => {
  it("copy each new point once into the second vault, kept there for the rule's days, restorable", async () => {
    const first = await dayAt("2026-03-01T02:01:00Z");
    const [point] = await vault.listPoints("web");
    expect(first.copies).toMatchObject([
      { status: "copied", sourcePoint: point!.id, destination: destinationDir },
    ]);
    // Ticking again copies nothing: the destination holds it.
    expect((await schedulerTick(local.app)).copies).toEqual([]);

    const changed = seededBytes(1, SIZE);
    seededBytes(2, 8192).copy(changed, 16_384);
    await writeFile(imagePath, changed);
    const second = await dayAt("2026-03-02T02:01:00Z");
    const [newest] = await vault.listPoints("web");
    expect(second.copies.map((c) => [c.status, c.sourcePoint])).toEqual([["copied", newest!.id]]);

    await withDestination(async (dr) => {
      const copies = await dr.listPoints("web");
      expect(copies.map((c) => c.sourceRef)).toEqual([
        copyRef(vault.id, newest!.id),
        copyRef(vault.id, point!.id),
      ]);
      for (const copy of copies) expect(copy.retainUntil).toBe(copy.created + 30 * DAY_MS);
      // The second copy is an incremental on the first, in the destination's own chain.
      expect(copies[0]!.parent).toBe(copies[1]!.id);
      expect(await restoreBytes(dr, copies[0]!.id, root)).toEqual(changed);
    });
    const job = await vault.ctx.deps.catalog.getJob(vault.id, copyJobId(newest!.id, destinationDir));
    expect(job).toMatchObject({ type: "copy", status: JobStatus.Completed, recoveryPoint: newest!.id });
    expect(job.detail?.destinationPoint).toEqual(second.copies[0]!.destinationPoint);
  });

  it("expire a copy in the destination once its days have passed, and not before", async () => {
    await dayAt("2026-03-01T02:01:00Z");
    const [copy] = await withDestination((dr) => dr.listPoints("web"));
    const at = (t: number) => async () =>
      withDestination(
        (dr) => dr.scheduleTick(),
        () => t,
      );
    expect((await at(copy!.retainUntil! - 60_000)()).expired).toEqual([]);
    expect((await at(copy!.retainUntil! + 60_000)()).expired).toEqual([copy!.id]);
    const [after] = await withDestination((dr) => dr.listPoints("web"));
    expect(after?.state).toBe(PointState.SoftDeleted);
  });

  it("make one copy when two scheduler runs copy at once", async () => {
    now = Date.parse("2026-03-01T02:01:00Z");
    await schedulerTick(local.app);
    await local.queue.drained();
    const [a, b] = await Promise.all([schedulerTick(local.app), schedulerTick(local.app)]);
    const statuses = [...a.copies, ...b.copies].map((c) => c.status).sort();
    expect(statuses.filter((s) => s === "copied")).toHaveLength(1);
    expect(await withDestination((dr) => dr.listPoints("web"))).toHaveLength(1);
  });

  it("alert when the destination cannot be reached, and copy on the next run once it can", async () => {
    const moved = join(root, "dr-moved");
    const { rename } = await import("node:fs/promises");
    await rename(destinationDir, moved);
    const failed = await dayAt("2026-03-01T02:01:00Z");
    expect(failed.copies).toMatchObject([{ status: "failed", destination: destinationDir }]);
    expect(alerts.join("\n")).toContain(`copy of disk web to ${destinationDir} failed`);
    await rename(moved, destinationDir);
    expect((await schedulerTick(local.app)).copies).toMatchObject([{ status: "copied" }]);
  });

  it("refuse copy rules that name no usable destination, naming the field", async () => {
    const refused = async (copyTo: unknown) =>
      vault.updatePolicy("daily-copied", policy(copyTo)).then(
        () => "accepted",
        (err: Error) => err.message,
      );
    expect(await refused([{ vault: "relative/dir", retention: { days: 3 } }])).toMatch(
      /^copyTo\[0\]\.vault must be an absolute directory/,
    );
    expect(await refused([{ vault: "s3://dr-bucket", retention: { days: 3 } }])).toMatch(
      /^copyTo\[0\]\.table is required for a vault on S3/,
    );
    expect(await refused([{ vault: "/a", retention: { days: 0 } }])).toMatch(
      /^copyTo\[0\]\.retention\.days must be an integer from 1 to 36500, got 0/,
    );
    expect(
      await refused([
        { vault: "/a", retention: { days: 3 } },
        { vault: "/a/", retention: { days: 4 } },
      ]),
    ).toMatch(/^copyTo names the vault "\/a" twice/);
    expect(await refused([])).toMatch(/^copyTo must be a list of 1 to 3 distinct copy rules, got 0/);
  });
});

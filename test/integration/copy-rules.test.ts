import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import type { CopyReport } from "../../lib/app/lifecycle/copy.ts";
import { runLifecycleTask } from "../../lib/app/lifecycle/dispatch.ts";
import { type EmbeddedRuntime, startEmbeddedRuntime } from "../../lib/compose/embedded.ts";
import { initLocalVault, openLocalVault } from "../../lib/compose/local.ts";
import { copyRef } from "../../lib/engine/copy/point-source.ts";
import { UnauthenticatedError } from "../../lib/errors.ts";
import { JobStatus, PointState } from "../../lib/model.ts";
import { Machine } from "../../lib/ports/workflows.ts";
import { copyJobId } from "../../lib/rules/copy-rules.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile, restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const DAY_MS = 24 * 60 * 60 * 1000;
const SIZE = 256 * 1024;

let root: string;
let vault: Vault;
let now: number;
let imagePath: string;
let destinationDir: string;
let runtime: EmbeddedRuntime;
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
  runtime = await startEmbeddedRuntime({
    vault,
    principals: async () => {
      throw new UnauthenticatedError("no HTTP callers in this test");
    },
    port: 0,
    tickMs: 0,
    waitMs: 0,
    retryIntervalMs: 0,
    log: (line) => alerts.push(line),
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
  await runtime.stop();
  await vault.close();
  await removeDir(root);
});

/** A tick at `at`: its copy run starts once the tick's backups have landed, and copies them. */
async function dayAt(at: string): Promise<CopyReport> {
  now = Date.parse(at);
  return copyRun(await runtime.tick());
}

/** What the copy run a tick started did. */
async function copyRun(tick: { copyExecution: string }): Promise<CopyReport> {
  const outcome = await runtime.workflows.wait(tick.copyExecution);
  expect(outcome.status).toBe("SUCCEEDED");
  return outcome.output as CopyReport;
}

/** A copy run started now, by name, outside the scheduler. */
async function startCopyRun(name: string): Promise<CopyReport> {
  return copyRun({ copyExecution: (await runtime.workflows.start(Machine.Copy, name, {})).executionId });
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
    expect(first).toMatchObject({ copied: 1, failed: 0 });
    // Another run copies nothing: the destination holds it.
    now += 60_000;
    expect(await copyRun(await runtime.tick())).toMatchObject({ copied: 0, failed: 0 });

    const changed = seededBytes(1, SIZE);
    seededBytes(2, 8192).copy(changed, 16_384);
    await writeFile(imagePath, changed);
    expect(await dayAt("2026-03-02T02:01:00Z")).toMatchObject({ copied: 1, failed: 0 });
    const [newest] = await vault.listPoints("web");

    const copies = await withDestination(async (dr) => {
      const copies = await dr.listPoints("web");
      expect(copies.map((c) => c.sourceRef)).toEqual([
        copyRef(vault.id, newest!.id),
        copyRef(vault.id, point!.id),
      ]);
      for (const copy of copies) expect(copy.retainUntil).toBe(copy.created + 30 * DAY_MS);
      // The second copy is an incremental on the first, in the destination's own chain.
      expect(copies[0]!.parent).toBe(copies[1]!.id);
      expect(await restoreBytes(dr, copies[0]!.id, root)).toEqual(changed);
      return copies;
    });
    const job = await vault.ctx.deps.catalog.getJob(vault.id, copyJobId(newest!.id, destinationDir));
    expect(job).toMatchObject({ type: "copy", status: JobStatus.Completed, recoveryPoint: newest!.id });
    expect(job.detail?.destinationPoint).toEqual(copies[0]!.id);
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

  it("make one copy when two copy runs overlap", async () => {
    await backupFile(vault, imagePath, "web");
    const [a, b] = await Promise.all([startCopyRun("copy-overlap-a"), startCopyRun("copy-overlap-b")]);
    expect(a.copied + b.copied).toBe(1);
    expect(a.failed + b.failed).toBe(0);
    expect(await withDestination((dr) => dr.listPoints("web"))).toHaveLength(1);
  });

  it("alert when the destination cannot be reached, and copy on the next run once it can", async () => {
    const moved = join(root, "dr-moved");
    const { rename } = await import("node:fs/promises");
    await rename(destinationDir, moved);
    expect(await dayAt("2026-03-01T02:01:00Z")).toMatchObject({ copied: 0, failed: 1 });
    expect(alerts.join("\n")).toContain(`copy of disk web to ${destinationDir} failed`);
    await rename(moved, destinationDir);
    now += 60_000;
    expect(await copyRun(await runtime.tick())).toMatchObject({ copied: 1, failed: 0 });
  });

  it("alert on a disk whose copy task itself failed (the machine caught it), naming the error", async () => {
    const report = await runLifecycleTask(runtime.app, {
      task: "report-copies",
      results: [
        { outcomes: [], failed: false },
        { failed: true, disk: "web", vault: destinationDir, error: "Sandbox.Timedout", cause: "timed out" },
      ],
      more: false,
    });
    expect(report).toMatchObject({ copied: 0, failed: 1, more: false });
    expect(alerts.join("\n")).toMatch(/copy of disk web to .* failed.*Sandbox\.Timedout: timed out/);
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
    expect(
      await refused([{ vault: "s3://dr-bucket", table: "t", roleArn: "dr-writer", retention: { days: 3 } }]),
    ).toMatch(/^copyTo\[0\]\.roleArn must be an IAM role ARN, got "dr-writer"/);
    expect(
      await refused([
        {
          vault: "/a",
          commitFunction: "arn:aws:lambda:eu-west-1:123456789012:function:c",
          retention: { days: 3 },
        },
      ]),
    ).toMatch(/^copyTo\[0\]: table, kmsKey, roleArn and commitFunction apply only to a vault on S3/);
    expect(await refused([])).toMatch(/^copyTo must be a list of 1 to 3 distinct copy rules, got 0/);
  });
});

import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { localVaultPaths } from "../../lib/compose/local.ts";
import { ArchivedObjectError, ConflictError, TransientError, ValidationError } from "../../lib/errors.ts";
import { JobStatus, JobType, PointState, Tier } from "../../lib/model.ts";
import type { ObjectArchive } from "../../lib/ports/object-archive.ts";
import { Machine } from "../../lib/ports/workflows.ts";
import { restoreBytes } from "../helpers/vault-ops.ts";
import { DAY, image, SIZE, useFixture } from "./statemachines-fixture.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const f = useFixture();

/** The fixture's archive, with `restoreState` and `setStorageClass` replaceable. */
function wrapped(overrides: Partial<ObjectArchive>): ObjectArchive {
  const a = f.archive;
  return {
    storageClass: (key) => a.storageClass(key),
    setStorageClass: (key, cls) => a.setStorageClass(key, cls),
    requestRestore: (key, request) => a.requestRestore(key, request),
    restoreState: (key) => a.restoreState(key),
    ...overrides,
  };
}

async function jobsOf(type: JobType) {
  return (await f.vault.listJobs()).filter((j) => j.type === type);
}

describe("tiering machine", () => {
  it("archives old points and only the packs no non-archive point needs", async () => {
    const { a1, b1, b2 } = await f.tierScenario();
    const outcome = await f.run(Machine.Tiering, {});
    expect(outcome).toMatchObject({ status: "SUCCEEDED", output: { moved: 3, packsArchived: 1, failed: 0 } });
    const tiers = Object.fromEntries((await f.vault.listPoints()).map((p) => [p.id, p.tier]));
    expect(tiers).toEqual({ [a1]: Tier.Archive, [b1]: Tier.Archive, [b2]: Tier.Vault });
    expect(await f.packClasses()).toEqual(["GLACIER", "STANDARD", "STANDARD"]);
    await expect(restoreBytes(f.vault, a1, f.root)).rejects.toBeInstanceOf(ArchivedObjectError);
    // B1's pack is shared with B2 (vault tier): it stays online and B1 restores as it is.
    expect((await restoreBytes(f.vault, b1, f.root)).equals(image(2))).toBe(true);
    expect(await jobsOf(JobType.Tiering)).toEqual([expect.objectContaining({ status: JobStatus.Completed })]);
    const audited = (await f.vault.listAudit()).filter((e) => e.action === "point.tier");
    expect(audited.map((e) => [e.principal, e.outcome])).toEqual(Array(3).fill(["system", "succeeded"]));
    // Nothing is left to move: a second run changes nothing.
    expect((await f.run(Machine.Tiering, {})).output).toMatchObject({ moved: 0, packsArchived: 0 });
  });

  it("moves the other points when one fails, then fails the job naming it and alerts", async () => {
    await f.tierScenario();
    f.useArchive(wrapped({ setStorageClass: async () => Promise.reject(new ValidationError("refused")) }));
    const outcome = await f.run(Machine.Tiering, {});
    expect(outcome).toMatchObject({ status: "FAILED", error: "TieringIncompleteError" });
    // A1's packs could not be archived: it is back in its tier, for the next run to try again.
    const tiers = (await f.vault.listPoints()).map((p) => p.tier).sort();
    expect(tiers).toEqual([Tier.Archive, Tier.Snapshot, Tier.Vault]);
    const [job] = await jobsOf(JobType.Tiering);
    expect(job).toMatchObject({ status: JobStatus.Failed, detail: { moved: 2, failed: 1 } });
    expect(job!.error).toMatch(
      /1 of 3 recovery points could not change tier: .* \(ValidationError: refused\)/,
    );
    expect(f.alerts).toEqual([
      expect.objectContaining({ jobId: job!.id, subject: "blockvault tiering failed" }),
    ]);
  });
});

describe("restore machine", () => {
  it("rehydrates archived packs, polls until readable, restores byte-identical and completes the job", async () => {
    const { a1 } = await f.tierScenario();
    await f.run(Machine.Tiering, {});
    f.useArchive(f.archiveWithDelay(150));
    const { outcome, path, job } = await f.restoreJob(a1);
    expect(outcome).toMatchObject({ status: "SUCCEEDED", output: { status: "completed", bytes: SIZE } });
    expect((await readFile(path)).equals(image(1))).toBe(true);
    expect(job).toMatchObject({
      status: JobStatus.Completed,
      bytesScanned: SIZE,
      detail: { packsRehydrated: 1 },
    });
    // The pack stays in its archive class; its restored copy is readable for a while.
    expect(await f.packClasses()).toEqual(["GLACIER", "STANDARD", "STANDARD"]);
    expect((await restoreBytes(f.vault, a1, f.root)).equals(image(1))).toBe(true);
  });

  it("fails the job with its cause and alerts when rehydration outlasts maxPolls", async () => {
    const { a1 } = await f.tierScenario();
    await f.run(Machine.Tiering, {});
    f.useArchive(f.archiveWithDelay(DAY));
    const { outcome, job } = await f.restoreJob(a1, { maxPolls: 3 });
    expect(outcome).toMatchObject({ status: "FAILED", error: "RehydrationTimeoutError" });
    expect(job.status).toBe(JobStatus.Failed);
    expect(job.error).toMatch(/RehydrationTimeoutError: 1 of 1 packs were still not readable after 3 polls/);
    expect(f.alerts).toEqual([
      expect.objectContaining({ jobId: job.id, subject: "blockvault restore failed" }),
    ]);
  });

  it("fails the job with its cause and alerts for a recovery point that does not exist", async () => {
    const { outcome, job } = await f.restoreJob("no-such-point");
    expect(outcome).toMatchObject({ status: "FAILED", error: "NotFoundError" });
    expect(job).toMatchObject({
      status: JobStatus.Failed,
      error: expect.stringMatching(/no-such-point does not exist/),
    });
    expect(f.alerts).toEqual([
      expect.objectContaining({ jobId: job.id, message: expect.stringMatching(/NotFoundError/) }),
    ]);
  });

  it("fails the job and alerts when rehydration never completes within the machine's own poll budget", async () => {
    const { a1 } = await f.tierScenario();
    await f.run(Machine.Tiering, {});
    let polls = 0;
    const never = f.archiveWithDelay(365 * DAY);
    f.useArchive(
      wrapped({
        requestRestore: (key, request) => never.requestRestore(key, request),
        restoreState: (key) => {
          polls++;
          return never.restoreState(key);
        },
      }),
    );
    const { outcome, job } = await f.restoreJob(a1, { maxPolls: 1_000_000 });
    expect(outcome).toMatchObject({ status: "FAILED", error: "RehydrationTimeoutError" });
    // The input cannot raise the machine's budget (PollSchedule's maxPolls).
    expect(job.error).toMatch(/still not readable after 200 polls/);
    expect(polls).toBeGreaterThanOrEqual(200);
    expect(job.status).toBe(JobStatus.Failed);
    expect(f.alerts).toEqual([
      expect.objectContaining({ jobId: job.id, subject: "blockvault restore failed" }),
    ]);
  });

  it("does not repeat a task whose retryable error outlasted the call's own retries", async () => {
    const a1 = await f.backup("a", image(1));
    let calls = 0;
    f.useArchive(
      wrapped({
        restoreState: async () => {
          calls++;
          throw new TransientError("archive throttled");
        },
      }),
    );
    const { outcome, job } = await f.restoreJob(a1);
    expect(outcome).toMatchObject({ status: "FAILED", error: "TransientError" });
    expect(calls).toBe(1);
    expect(job).toMatchObject({ status: JobStatus.Failed, error: "TransientError: archive throttled" });
    expect(f.alerts).toHaveLength(1);
  });

  it("runs a task again once after its function crashed or timed out", async () => {
    const a1 = await f.backup("a", image(1));
    let calls = 0;
    f.useArchive(
      wrapped({
        restoreState: async (key) => {
          if (calls++ === 0) throw Object.assign(new Error("Task timed out"), { name: "Sandbox.Timedout" });
          return f.archive.restoreState(key);
        },
      }),
    );
    const { outcome, path, job } = await f.restoreJob(a1);
    expect(outcome.status).toBe("SUCCEEDED");
    expect(calls).toBe(2);
    expect(job.status).toBe(JobStatus.Completed);
    expect((await readFile(path)).equals(image(1))).toBe(true);
    expect(f.alerts).toEqual([]);
  });

  it("alerts from the machine itself when the lifecycle function cannot even mark the job failed", async () => {
    const a1 = await f.backup("a", image(1));
    f.useArchive(f.archive);
    const broken = new ValidationError("the vault cannot be opened");
    f.breakVault(broken);
    const { outcome } = await f.restoreJob(a1);
    expect(outcome).toMatchObject({ status: "FAILED", error: "ValidationError" });
    expect(f.alerts).toEqual([
      {
        subject: "blockvault restore failed",
        message: expect.stringMatching(
          /^ValidationError: .*the vault cannot be opened.* \(marking the job failed also failed: ValidationError: /,
        ),
      },
    ]);
  });
});

describe("expiry machine", () => {
  it("purges soft-deleted points whose period ended and deletes the packs nothing references", async () => {
    const old = await f.backup("a", image(1));
    const kept = await f.backup("a", image(2));
    await f.vault.deletePoint(old);
    expect((await f.run(Machine.Expiry, {})).output).toMatchObject({ purged: 0, packsDeleted: 0 });
    f.offset += 15 * DAY;
    const outcome = await f.run(Machine.Expiry, {});
    expect(outcome).toMatchObject({
      status: "SUCCEEDED",
      output: { purged: 1, pointsReleased: 1, packsDeleted: 1 },
    });
    expect((await f.vault.ctx.deps.catalog.getRecoveryPoint(f.vault.id, old)).state).toBe(PointState.Purged);
    expect(await f.packClasses()).toEqual(["STANDARD"]);
    expect((await restoreBytes(f.vault, kept, f.root)).equals(image(2))).toBe(true);
    const statuses = (await jobsOf(JobType.Purge)).map((j) => j.status);
    expect(statuses).toEqual([JobStatus.Completed, JobStatus.Completed]);
  });
});

describe("expiry machine's scheduled verification", () => {
  it("runs the verifications due, once a run, and alerts the one that finds a pack gone", async () => {
    await f.vault.createPolicy({
      name: "checked",
      schedule: { kind: "daily", times: ["01:00"] },
      timeZone: "UTC",
      retention: { daily: { days: 7 } },
      snapshotRetentionDays: 1,
      verification: { everyDays: 1, readAllWithinDays: 1 },
    });
    await f.backup("v", image(7));
    const source = await openFileSource(join(f.root, "v.img"));
    await f.vault.protect(source, "v", "checked").finally(() => source.close());
    expect((await f.run(Machine.Expiry, {})).status).toBe("SUCCEEDED");
    const [first] = await jobsOf(JobType.Verify);
    expect(first).toMatchObject({ status: JobStatus.Completed, detail: { subset: "1/1", points: 1 } });
    // The same run again: claimed already, nothing more.
    await f.run(Machine.Expiry, {});
    expect(await jobsOf(JobType.Verify)).toHaveLength(1);
    const packs = [];
    for await (const info of f.vault.ctx.deps.store.list("packs/")) packs.push(info.key);
    await rm(join(localVaultPaths(join(f.root, "vault")).objects, packs[0]!));
    f.offset += DAY;
    expect((await f.run(Machine.Expiry, {})).status).toBe("SUCCEEDED");
    const failed = (await jobsOf(JobType.Verify)).find((j) => j.status === JobStatus.Failed);
    expect(failed?.error).toMatch(/^1 pack\(s\) missing/);
    expect(f.alerts.map((a) => a.subject)).toContain("blockvault: verification of policy checked failed");
  });
});

describe("local runner", () => {
  it("treats a start with a used name as the same execution, and other input as a conflict", async () => {
    const first = await f.workflows.start(Machine.Expiry, "nightly", {});
    expect(await f.workflows.start(Machine.Expiry, "nightly", {})).toEqual(first);
    await expect(f.workflows.start(Machine.Expiry, "nightly", { other: 1 })).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect((await f.workflows.wait(first.executionId)).status).toBe("SUCCEEDED");
    expect(await jobsOf(JobType.Purge)).toHaveLength(1);
  });
});

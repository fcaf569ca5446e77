import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localVaultPaths } from "../../lib/compose/local.ts";
import { JobStatus, JobType } from "../../lib/model.ts";
import { Vault } from "../../lib/vault.ts";
import {
  backupWithFaults,
  copyVault,
  DISK,
  type FaultFixture,
  type FaultyRun,
  inspectAndDiscard,
  makeFaultFixture,
} from "../helpers/fault-fixture.ts";
import { describeCall, type FaultKind, FaultPlan, type PortCall } from "../helpers/fault-plan.ts";
import { withFaults } from "../helpers/fault-proxy.ts";
import { openLocalPorts } from "../helpers/local-ports.ts";
import { removeDir } from "../helpers/temp-dir.ts";
import { backupFile, restoreBytes } from "../helpers/vault-ops.ts";

// One worker per pool: every restore below starts a pool, and startup dominates on tiny images.
process.env.BLOCKVAULT_WORKERS = "1";

let fx: FaultFixture;
/** The calls of a clean incremental backup, in order. */
let dryRun: PortCall[];

beforeAll(async () => {
  fx = await makeFaultFixture();
  const clean = await backupWithFaults(fx, (plan) => plan.arm());
  expect(clean.error).toBeUndefined();
  dryRun = [...clean.plan.calls];
  await inspectAndDiscard(clean.dir, async (vault) => {
    expect(await restoreBytes(vault, clean.pointId!, fx.root)).toEqual(fx.v2);
  });
});

afterAll(async () => {
  if (fx) await removeDir(fx.root);
});

/** A put of the store, straight or from a staging area (how the workers' packs are stored). */
function isPut(call: PortCall): boolean {
  return call.method === "put" || call.method === "area.put";
}

/** True when the error is the injected one, or wraps it: the original failure is what surfaces. */
function surfaces(error: unknown, injected: unknown): boolean {
  for (let e = error; e !== undefined; e = (e as { cause?: unknown }).cause) if (e === injected) return true;
  return false;
}

/** What the run left in the object store's temporary directory (staged packs, half-written puts). */
async function temporaries(run: FaultyRun): Promise<string[]> {
  return readdir(join(localVaultPaths(run.dir).objects, ".tmp")).catch(() => []);
}

/**
 * After a failed incremental: the only point is still p1 and restores to v1; the failed job is
 * recorded (unless the catalog failed before the job existed); nothing staged is left behind; the
 * next clean backup succeeds and restores to v2.
 */
async function expectConsistentAfterFailure(run: FaultyRun, label: string): Promise<void> {
  expect(run.error, `${label}: the backup must fail`).toBeDefined();
  expect(await temporaries(run), label).toEqual([]);
  expect(surfaces(run.error, run.plan.injected), `${label}: got ${String(run.error)}`).toBe(true);
  const hit = run.plan.hit!;
  const jobExisted = run.plan.calls.some((c) => c.method === "createJob" && c.n < hit.n);
  await inspectAndDiscard(run.dir, async (vault) => {
    expect(
      (await vault.listPoints()).map((p) => p.id),
      label,
    ).toEqual([fx.p1]);
    const backups = (await vault.listJobs({ disk: DISK })).filter((j) => j.type === JobType.Backup);
    expect(
      backups.filter((j) => j.status === JobStatus.Running),
      label,
    ).toEqual([]);
    const failed = backups.filter((j) => j.status === JobStatus.Failed);
    expect(failed.length, label).toBe(jobExisted ? 1 : 0);
    if (jobExisted) expect(failed[0]!.error, label).toContain("injected");
    // The old point's restore and the next backup run side by side: half the wall time.
    const [old, next] = await Promise.all([
      restoreBytes(vault, fx.p1, fx.root),
      backupFile(vault, fx.image, DISK),
    ]);
    expect(old.equals(fx.v1), label).toBe(true);
    expect(next.parent, label).toBe(fx.p1);
    expect((await restoreBytes(vault, next.recoveryPointId, fx.root)).equals(fx.v2), label).toBe(true);
  });
}

/**
 * A fault after the catalog commit (recording the job's completion) cannot undo the commit: the
 * backup must report success, its point must restore, and the job must not claim it failed.
 */
async function expectCommittedDespiteFault(run: FaultyRun, label: string): Promise<void> {
  expect(run.error, label).toBeUndefined();
  expect(await temporaries(run), label).toEqual([]);
  await inspectAndDiscard(run.dir, async (vault) => {
    expect(
      (await vault.listPoints()).map((p) => p.id),
      label,
    ).toEqual([run.pointId, fx.p1]);
    expect((await restoreBytes(vault, run.pointId!, fx.root)).equals(fx.v2), label).toBe(true);
    const failed = await vault.listJobs({ status: JobStatus.Failed });
    expect(failed, label).toEqual([]);
  });
}

/** Whether the catalog commit of the point had already run when the fault hit. */
function committedBeforeFault(run: FaultyRun): boolean {
  const hit = run.plan.hit!;
  return run.plan.calls.some((c) => c.method === "commitRecoveryPoint" && c.n < hit.n);
}

describe("a fault at any port call of an incremental backup", () => {
  it("the dry run counts a useful number of calls of both ports", () => {
    const store = dryRun.filter((c) => c.port === "store");
    const catalog = dryRun.filter((c) => c.port === "catalog");
    expect(store.filter((c) => isPut(c)).length).toBeGreaterThanOrEqual(4);
    expect(store.filter((c) => c.method === "get").length).toBeGreaterThanOrEqual(3);
    // Packs are written by the workers into a staging area and stored from there.
    expect(store.filter((c) => c.method === "stage").length).toBe(1);
    expect(store.some((c) => isPut(c) && c.key!.startsWith("packs/"))).toBe(true);
    expect(catalog.map((c) => c.method)).toEqual(
      expect.arrayContaining(["latestRecoveryPoint", "createJob", "commitRecoveryPoint", "updateJob"]),
    );
  });

  for (const kind of ["transient", "fatal"] as FaultKind[]) {
    it(`a ${kind} fault at each call N leaves the vault consistent and the next backup succeeds`, async () => {
      // Removing a staging area, and dead writers' leftovers, is cleanup the backup does not wait
      // on or fail for (faults-backup checks it).
      const cleanup = ["area.close", "removeLeftovers"];
      for (const call of dryRun.filter((c) => !cleanup.includes(c.method))) {
        // The call is named by its port, method and how many such calls came before it, not by
        // its number: calls that run concurrently (the staging area's close beside the manifest
        // puts) may come in another order from one run to the next.
        const nth = (c: PortCall) => c.port === call.port && c.method === call.method;
        const ordinal = dryRun.filter((c) => nth(c) && c.n <= call.n).length;
        let seen = 0;
        const run = await backupWithFaults(fx, (plan) =>
          plan.arm((c) => nth(c) && ++seen === ordinal, "before", kind),
        );
        expect(run.plan.hit, `the fault at call ${call.n} must fire`).toBeDefined();
        const label = `${kind} fault at ${describeCall(run.plan.hit!)}`;
        if (committedBeforeFault(run)) await expectCommittedDespiteFault(run, label);
        else await expectConsistentAfterFailure(run, label);
      }
    }, 180_000);
  }

  it("a put that lands but whose response is lost fails the run, and the next run reuses what landed", async () => {
    const puts = dryRun.filter((c) => isPut(c)).length;
    for (let k = 1; k <= puts; k++) {
      // The k-th put, whatever its number: pack names are random, and uploads may reorder.
      let seen = 0;
      const run = await backupWithFaults(fx, (plan) => plan.arm((c) => isPut(c) && ++seen === k, "after"));
      expect(run.plan.hit, `put ${k} must be reached`).toBeDefined();
      await expectConsistentAfterFailure(run, `lost response of ${describeCall(run.plan.hit!)}`);
    }
  }, 120_000);
});

describe("a crash (no cleanup at all) during an incremental backup", () => {
  /** Everything after the crash point throws, like a process that died: nothing is cleaned up. */
  async function crashAt(where: (c: PortCall) => boolean): Promise<FaultyRun> {
    const run = await backupWithFaults(fx, (plan) => plan.arm(where, "crash"));
    expect(run.error).toBeDefined();
    return run;
  }

  async function expectRecovers(run: FaultyRun): Promise<{ blocksNew: number }> {
    return inspectAndDiscard(run.dir, async (vault) => {
      expect((await vault.listPoints()).map((p) => p.id)).toEqual([fx.p1]);
      // No cleanup ran, so the job is left as the crash found it.
      const running = await vault.listJobs({ status: JobStatus.Running });
      expect(running.map((j) => j.type)).toEqual([JobType.Backup]);
      expect((await restoreBytes(vault, fx.p1, fx.root)).equals(fx.v1)).toBe(true);
      const next = await backupFile(vault, fx.image, DISK);
      expect(next.parent).toBe(fx.p1);
      expect((await restoreBytes(vault, next.recoveryPointId, fx.root)).equals(fx.v2)).toBe(true);
      return next;
    });
  }

  it("after the packs were stored but before any index object, the next run succeeds", async () => {
    const run = await crashAt((c) => isPut(c) && c.key!.startsWith("index/"));
    const hit = run.plan.hit!;
    expect(run.plan.calls.some((c) => c.key?.startsWith("packs/") && c.n < hit.n)).toBe(true);
    await expectRecovers(run);
  });

  it("after every object was written but before the catalog commit, the next run reuses them", async () => {
    const run = await crashAt((c) => c.method === "commitRecoveryPoint");
    const hit = run.plan.hit!;
    expect(run.plan.calls.some((c) => c.key?.startsWith("index/") && isPut(c) && c.n < hit.n)).toBe(true);
    const next = await expectRecovers(run);
    // The crashed run's packs were indexed, so no block needs storing again.
    expect(next.blocksNew).toBe(0);
  });
});

describe("a catalog fault while restoring", () => {
  it("never lets a forced restore overwrite the disk's source image", async () => {
    const dir = await copyVault(fx);
    const ports = await openLocalPorts(dir);
    const plan = new FaultPlan();
    try {
      const vault = await Vault.open({
        ...ports.deps,
        catalog: withFaults(ports.catalog, "catalog", plan, { exempt: ["references"] }),
      });
      plan.arm((c) => c.method === "getDisk");
      const error = await vault.restoreToFile(fx.p1, fx.image, { force: true }).catch((e: unknown) => e);
      expect(error).toBe(plan.injected);
      expect(plan.hit?.method).toBe("getDisk");
      expect((await readFile(fx.image)).equals(fx.v2)).toBe(true);
    } finally {
      plan.disarm();
      await ports.catalog.close();
      await writeFile(fx.image, fx.v2); // later tests back up this image
      await removeDir(dir);
    }
  });
});

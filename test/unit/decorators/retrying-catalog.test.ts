import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteCatalog, type SqliteCatalog } from "../../../lib/adapters/local/sqlite-catalog.ts";
import { retryingCatalog } from "../../../lib/decorators/retrying-catalog.ts";
import { AlreadyExistsError, ConflictError, NotFoundError, TransientError } from "../../../lib/errors.ts";
import { JobStatus, PointState } from "../../../lib/model.ts";
import type { Catalog } from "../../../lib/ports/catalog.ts";
import { disk, job, point, vault } from "../../contract/catalog-records.ts";
import { FaultScript, instantPolicy, withFaults } from "./fakes.ts";

describe("Catalog over a flaky SqliteCatalog", () => {
  let inner: SqliteCatalog;
  let script: FaultScript;
  let policy: ReturnType<typeof instantPolicy>;
  let catalog: Catalog;
  beforeEach(async () => {
    inner = openSqliteCatalog(":memory:");
    await inner.createVault(vault());
    await inner.putDisk(disk());
    script = new FaultScript();
    policy = instantPolicy();
    catalog = retryingCatalog(withFaults(inner, script), policy);
  });
  afterEach(async () => {
    await inner.close();
  });

  it("retries every read and idempotent write on transient failures", async () => {
    await inner.commitRecoveryPoint(point("p1"), null);
    await inner.createJob(job("j1"));
    const methods = [
      ["getVault", () => catalog.getVault("v1")],
      ["putDisk", () => catalog.putDisk(disk({ size: 1 }))],
      ["getDisk", () => catalog.getDisk("v1", "d1")],
      ["listDisks", () => catalog.listDisks("v1")],
      ["getRecoveryPoint", () => catalog.getRecoveryPoint("v1", "p1")],
      ["listRecoveryPoints", () => catalog.listRecoveryPoints("v1", "d1")],
      ["latestRecoveryPoint", () => catalog.latestRecoveryPoint("v1", "d1")],
      [
        "updateRecoveryPoint",
        () => catalog.updateRecoveryPoint("v1", "p1", { state: PointState.SoftDeleted }),
      ],
      ["getJob", () => catalog.getJob("v1", "j1")],
      ["updateJob", () => catalog.updateJob("v1", "j1", { status: JobStatus.Completed })],
      ["listJobs", () => catalog.listJobs("v1")],
    ] as const;
    for (const [method, call] of methods) {
      script.fail(method, "before").fail(method, "after");
      await call();
      expect(script.count(method), method).toBe(3);
    }
    expect((await inner.getJob("v1", "j1")).status).toBe(JobStatus.Completed);
    expect((await inner.getRecoveryPoint("v1", "p1")).state).toBe(PointState.SoftDeleted);
  });

  it("does not retry NotFoundError or ConflictError", async () => {
    await expect(catalog.getJob("v1", "nope")).rejects.toBeInstanceOf(NotFoundError);
    await inner.commitRecoveryPoint(point("p1"), null);
    await expect(catalog.commitRecoveryPoint(point("p2"), null)).rejects.toBeInstanceOf(ConflictError);
    expect(script.calls).toEqual(["getJob", "commitRecoveryPoint"]);
  });

  describe("commitRecoveryPoint", () => {
    it("reports success when its own earlier attempt committed but the response was lost", async () => {
      script.fail("commitRecoveryPoint", "after");
      await catalog.commitRecoveryPoint(point("p1"), null);
      expect(script.calls).toEqual(["commitRecoveryPoint", "commitRecoveryPoint", "getRecoveryPoint"]);
      expect((await inner.latestRecoveryPoint("v1", "d1"))?.id).toBe("p1");
    });

    it("recognises its commit even after the point changed state", async () => {
      script.fail("commitRecoveryPoint", "after");
      // Simulate a lifecycle change landing between the lost response and the retry.
      const committed = inner.commitRecoveryPoint.bind(inner);
      inner.commitRecoveryPoint = async (p, parent) => {
        await committed(p, parent);
        await inner.updateRecoveryPoint(p.vaultId, p.id, { state: PointState.SoftDeleted, deleteAfter: 1 });
      };
      await expect(catalog.commitRecoveryPoint(point("p1"), null)).resolves.toBeUndefined();
      expect((await inner.getRecoveryPoint("v1", "p1")).state).toBe(PointState.SoftDeleted);
    });

    it("keeps AlreadyExistsError on a retry when another backup committed the id with another manifest", async () => {
      await inner.commitRecoveryPoint(point("p1", { manifest: "theirs" }), null);
      script.fail("commitRecoveryPoint", "before");
      const err = await catalog.commitRecoveryPoint(point("p1", { manifest: "ours" }), null).catch((e) => e);
      expect(err).toBeInstanceOf(AlreadyExistsError);
      expect(script.calls).toEqual(["commitRecoveryPoint", "commitRecoveryPoint", "getRecoveryPoint"]);
      expect((await inner.getRecoveryPoint("v1", "p1")).manifest).toBe("theirs");
    });

    it("keeps AlreadyExistsError on the first attempt without looking", async () => {
      await inner.commitRecoveryPoint(point("p1"), null);
      await expect(catalog.commitRecoveryPoint(point("p1"), null)).rejects.toBeInstanceOf(AlreadyExistsError);
      expect(script.calls).toEqual(["commitRecoveryPoint"]);
      expect(policy.delays).toEqual([]);
    });

    it("retries when the check read itself fails transiently", async () => {
      script.fail("commitRecoveryPoint", "after").fail("getRecoveryPoint", "before");
      await catalog.commitRecoveryPoint(point("p1"), null);
      expect(script.count("commitRecoveryPoint")).toBe(3);
      expect(script.count("getRecoveryPoint")).toBe(2);
    });

    it("gives up after five transient failures", async () => {
      script.fail("commitRecoveryPoint", "before", 5);
      const err = await catalog.commitRecoveryPoint(point("p1"), null).catch((e) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect(err.message).toMatch(/^commit recovery point p1 failed after 5 attempts/);
      expect(await inner.listRecoveryPoints("v1")).toEqual([]);
    });
  });

  describe("createJob and createVault", () => {
    it("report success when their own earlier attempt landed", async () => {
      script.fail("createJob", "after").fail("createVault", "after");
      await catalog.createJob(job("j1", { detail: { slot: 3 } }));
      await catalog.createVault(vault({ id: "v2" }));
      expect(await inner.getJob("v1", "j1")).toStrictEqual(job("j1", { detail: { slot: 3 } }));
      expect((await inner.getVault("v2")).id).toBe("v2");
      expect(script.calls).toEqual([
        "createJob",
        "createJob",
        "getJob",
        "createVault",
        "createVault",
        "getVault",
      ]);
    });

    it("keep AlreadyExistsError on a retry when someone else's record holds the id", async () => {
      await inner.createJob(job("j1", { started: 1 }));
      await inner.createVault(vault({ id: "v2", name: "theirs" }));
      script.fail("createJob", "before").fail("createVault", "before");
      await expect(catalog.createJob(job("j1", { started: 2 }))).rejects.toBeInstanceOf(AlreadyExistsError);
      await expect(catalog.createVault(vault({ id: "v2", name: "ours" }))).rejects.toBeInstanceOf(
        AlreadyExistsError,
      );
      expect((await inner.getVault("v2")).name).toBe("theirs");
    });
  });

  it("passes close through", async () => {
    await catalog.close();
    expect(script.calls).toEqual(["close"]);
    await expect(inner.getVault("v1")).rejects.toThrow();
  });
});

import { beforeEach, describe, expect, it } from "vitest";
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from "../../lib/errors.ts";
import { JobStatus, JobType } from "../../lib/model.ts";
import type { Catalog } from "../../lib/ports/catalog.ts";
import { job, vault } from "./catalog-records.ts";

const ids = (jobs: readonly { id: string }[]) => jobs.map((j) => j.id);

/**
 * The job clauses of the Catalog contract; part of `describeCatalogContract`. `current` returns
 * the catalog of the running test.
 */
export function describeJobClauses(current: () => Catalog): void {
  describe("jobs", () => {
    let catalog: Catalog;
    beforeEach(async () => {
      catalog = current();
      await catalog.createVault(vault());
      await catalog.createVault(vault({ id: "v2", name: "other" }));
    });

    it("round-trips a job, leaving absent optional fields absent", async () => {
      await catalog.createJob(job("j1"));
      const got = await catalog.getJob("v1", "j1");
      expect(got).toStrictEqual(job("j1"));
      for (const field of ["disk", "recoveryPoint", "ended", "error", "detail"])
        expect(field in got).toBe(false);
    });

    it("round-trips every optional field, including a structured detail", async () => {
      const full = job("j1", {
        type: JobType.Restore,
        status: JobStatus.Failed,
        disk: "d1",
        recoveryPoint: "p7",
        ended: 1_700_000_300_000,
        bytesScanned: 1 << 30,
        bytesChanged: 12345,
        bytesStored: 678,
        attempts: 3,
        error: "TransientError: throttled",
        heartbeat: 1_700_000_250_000,
        detail: { target: "/dev/vdc", slot: 1_700_000_000_000, verify: true, note: "" },
      });
      await catalog.createJob(full);
      expect(await catalog.getJob("v1", "j1")).toStrictEqual(full);
    });

    it("rejects a duplicate id with AlreadyExistsError and keeps the original", async () => {
      await catalog.createJob(job("j1"));
      await expect(catalog.createJob(job("j1", { status: JobStatus.Failed }))).rejects.toBeInstanceOf(
        AlreadyExistsError,
      );
      expect(await catalog.getJob("v1", "j1")).toStrictEqual(job("j1"));
    });

    it("scopes job ids to their vault", async () => {
      await catalog.createJob(job("j1"));
      await catalog.createJob(job("j1", { vaultId: "v2", type: JobType.Purge }));
      expect((await catalog.getJob("v1", "j1")).type).toBe(JobType.Backup);
      expect((await catalog.getJob("v2", "j1")).type).toBe(JobType.Purge);
    });

    it("rejects a missing job with NotFoundError naming it", async () => {
      await catalog.createJob(job("j1"));
      const err = await catalog.getJob("v1", "nojob").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toContain("nojob");
      await expect(catalog.getJob("v2", "j1")).rejects.toBeInstanceOf(NotFoundError);
    });

    it("updates a job conditionally: on its status, and on the heartbeat that was read", async () => {
      await catalog.createJob(job("j1", { status: JobStatus.Running, heartbeat: 1_000 }));
      const running = { status: JobStatus.Running } as const;
      // A heartbeat renews a running job...
      expect(await catalog.updateJob("v1", "j1", { heartbeat: 2_000 }, running)).toMatchObject({
        heartbeat: 2_000,
      });
      // ...and a finder that read the older heartbeat cannot end it.
      const stale = { status: JobStatus.Running, heartbeat: 1_000 } as const;
      await expect(
        catalog.updateJob("v1", "j1", { status: JobStatus.Abandoned }, stale),
      ).rejects.toBeInstanceOf(ConflictError);
      expect(await catalog.getJob("v1", "j1")).toMatchObject({ status: JobStatus.Running, heartbeat: 2_000 });
      const read = { status: JobStatus.Running, heartbeat: 2_000 } as const;
      await catalog.updateJob("v1", "j1", { status: JobStatus.Abandoned, ended: 3_000 }, read);
      // Two finders of one dead job: the second one's update is refused, nothing changes.
      await expect(
        catalog.updateJob("v1", "j1", { status: JobStatus.Abandoned, ended: 4_000 }, read),
      ).rejects.toBeInstanceOf(ConflictError);
      // A late heartbeat never revives the job.
      await expect(catalog.updateJob("v1", "j1", { heartbeat: 5_000 }, running)).rejects.toBeInstanceOf(
        ConflictError,
      );
      expect(await catalog.getJob("v1", "j1")).toMatchObject({
        status: JobStatus.Abandoned,
        heartbeat: 2_000,
        ended: 3_000,
      });
      // A job that never sent a heartbeat matches `heartbeat: null`.
      await catalog.createJob(job("j2", { status: JobStatus.Running }));
      await expect(
        catalog.updateJob(
          "v1",
          "j2",
          { status: JobStatus.Failed },
          { status: JobStatus.Running, heartbeat: 7 },
        ),
      ).rejects.toBeInstanceOf(ConflictError);
      await catalog.updateJob(
        "v1",
        "j2",
        { status: JobStatus.Failed },
        { status: JobStatus.Running, heartbeat: null },
      );
      expect((await catalog.getJob("v1", "j2")).status).toBe(JobStatus.Failed);
      await expect(catalog.updateJob("v1", "nojob", { heartbeat: 1 }, running)).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });

    it("updates the named fields, returns the result and persists it", async () => {
      await catalog.createJob(job("j1", { disk: "d1" }));
      const changes = {
        status: JobStatus.Completed,
        ended: 1_700_000_400_000,
        bytesScanned: 100,
        bytesChanged: 10,
        bytesStored: 5,
        recoveryPoint: "p1",
        detail: { slot: 7 },
      };
      const updated = await catalog.updateJob("v1", "j1", changes);
      const expected = job("j1", { disk: "d1", ...changes });
      expect(updated).toStrictEqual(expected);
      expect(await catalog.getJob("v1", "j1")).toStrictEqual(expected);
    });

    it("clears an optional field given as undefined", async () => {
      await catalog.createJob(job("j1", { error: "boom", status: JobStatus.Failed, detail: { a: 1 } }));
      const retried = await catalog.updateJob("v1", "j1", {
        status: JobStatus.Running,
        attempts: 2,
        error: undefined,
        detail: undefined,
      });
      expect(retried).toStrictEqual(job("j1", { attempts: 2 }));
      expect(await catalog.getJob("v1", "j1")).toStrictEqual(job("j1", { attempts: 2 }));
    });

    it("refuses to clear a required field, changing nothing", async () => {
      await catalog.createJob(job("j1"));
      await expect(catalog.updateJob("v1", "j1", { status: undefined })).rejects.toBeInstanceOf(
        ValidationError,
      );
      expect(await catalog.getJob("v1", "j1")).toStrictEqual(job("j1"));
    });

    it("rejects an update of a missing job with NotFoundError", async () => {
      await catalog.createJob(job("j1"));
      await expect(catalog.updateJob("v1", "ghost", { attempts: 9 })).rejects.toBeInstanceOf(NotFoundError);
      await expect(catalog.updateJob("v2", "j1", { attempts: 9 })).rejects.toBeInstanceOf(NotFoundError);
      expect(await catalog.getJob("v1", "j1")).toStrictEqual(job("j1"));
    });

    describe("listJobs", () => {
      beforeEach(async () => {
        const { Queued, Running, Completed, Failed } = JobStatus;
        await catalog.createJob(job("a", { started: 1000, status: Completed, disk: "d1" }));
        await catalog.createJob(job("b", { started: 4000, status: Running, disk: "d2" }));
        await catalog.createJob(job("c", { started: 2000, status: Failed, disk: "d1" }));
        await catalog.createJob(job("d", { started: 3000, status: Completed }));
        await catalog.createJob(job("e", { started: 3000, status: Completed, disk: "d1" }));
        await catalog.createJob(job("f", { started: 500, status: Queued, disk: "d1" }));
        await catalog.createJob(job("z", { vaultId: "v2", started: 9000, status: Completed, disk: "d1" }));
      });

      it("lists a vault's jobs newest first; equal start times by creation order, later first", async () => {
        expect(ids(await catalog.listJobs("v1"))).toStrictEqual(["b", "e", "d", "c", "a", "f"]);
        expect(ids(await catalog.listJobs("v1", {}))).toStrictEqual(["b", "e", "d", "c", "a", "f"]);
        expect(ids(await catalog.listJobs("v2"))).toStrictEqual(["z"]);
      });

      it("filters by status", async () => {
        expect(ids(await catalog.listJobs("v1", { status: JobStatus.Completed }))).toStrictEqual([
          "e",
          "d",
          "a",
        ]);
        expect(ids(await catalog.listJobs("v1", { status: JobStatus.Queued }))).toStrictEqual(["f"]);
      });

      it("filters by disk, leaving out jobs without one", async () => {
        expect(ids(await catalog.listJobs("v1", { disk: "d1" }))).toStrictEqual(["e", "c", "a", "f"]);
        expect(ids(await catalog.listJobs("v1", { disk: "nope" }))).toStrictEqual([]);
      });

      it("combines filters with AND and applies the limit after them", async () => {
        const query = { status: JobStatus.Completed, disk: "d1" };
        expect(ids(await catalog.listJobs("v1", query))).toStrictEqual(["e", "a"]);
        expect(ids(await catalog.listJobs("v1", { ...query, limit: 1 }))).toStrictEqual(["e"]);
        expect(ids(await catalog.listJobs("v1", { limit: 2 }))).toStrictEqual(["b", "e"]);
        expect(ids(await catalog.listJobs("v1", { limit: 100 }))).toHaveLength(6);
        expect(await catalog.listJobs("v1", { limit: 0 })).toStrictEqual([]);
      });

      it("reflects updates in filtered listings", async () => {
        await catalog.updateJob("v1", "b", { status: JobStatus.Completed });
        expect(ids(await catalog.listJobs("v1", { status: JobStatus.Running }))).toStrictEqual([]);
        expect(ids(await catalog.listJobs("v1", { status: JobStatus.Completed }))).toStrictEqual([
          "b",
          "e",
          "d",
          "a",
        ]);
      });

      it("rejects a negative or fractional limit with ValidationError", async () => {
        await expect(catalog.listJobs("v1", { limit: -1 })).rejects.toBeInstanceOf(ValidationError);
        await expect(catalog.listJobs("v1", { limit: 1.5 })).rejects.toBeInstanceOf(ValidationError);
      });
    });
  });
}

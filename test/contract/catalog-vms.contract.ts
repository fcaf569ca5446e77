import { beforeEach, describe, expect, it } from "vitest";
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from "../../lib/errors.ts";
import { Consistency, PointState, SnapshotKind, type VmPointRecord, type VmRecord } from "../../lib/model.ts";
import type { Catalog, VmDiskCommit } from "../../lib/ports/catalog.ts";
import { disk, point, vault } from "./catalog-records.ts";

/** VM `web` of vault `v1` with two disks, `web.disk0` (boot) and `web.disk1`. */
export function vm(over: Partial<VmRecord> = {}): VmRecord {
  return {
    vaultId: "v1",
    name: "web",
    created: 1_700_000_000_000,
    disks: [
      { disk: "web.disk0", source: "/dev/vg0/web-root", size: 8 << 30 },
      { disk: "web.disk1", source: "/dev/vg0/web-data", size: 16 << 30 },
    ],
    bootDisk: 0,
    consistency: {
      agent: { kind: "qemu-ga", address: "/run/web.ga" },
      freezeMounts: ["/srv"],
      preScripts: [{ command: "db-flush", timeoutMs: 30_000 }],
      postScripts: [],
      freezeWindowMs: 10_000,
    },
    snapshot: SnapshotKind.Lvm,
    ...over,
  };
}

/** VM point `id` of VM `web` over disk points `points` (one per disk, in order). */
export function vmPoint(
  id: string,
  points: readonly string[],
  over: Partial<VmPointRecord> = {},
): VmPointRecord {
  return {
    id,
    vaultId: "v1",
    vm: "web",
    created: 1_700_000_100_000,
    points,
    consistency: Consistency.FileSystem,
    consistencyReason: "no pre-script configured",
    state: PointState.Available,
    job: `job-${id}`,
    disks: vm().disks,
    bootDisk: 0,
    ...over,
  };
}

/** The disk commits of a VM point: `web.disk0` and `web.disk1`, each against `parents`. */
function commits(ids: readonly string[], parents: readonly (string | null)[] = [null, null]): VmDiskCommit[] {
  return ids.map((id, i) => ({
    point: point(id, { disk: `web.disk${i}`, parent: parents[i] ?? null, logicalSize: (i + 1) << 20 }),
    expectedParent: parents[i] ?? null,
  }));
}

/**
 * The VM clauses of the Catalog contract (lib/ports/catalog/vms.ts); part of
 * `describeCatalogContract`. `current` returns the catalog of the running test.
 */
export function describeVmClauses(current: () => Catalog): void {
  describe("VMs and VM points", () => {
    let catalog: Catalog;
    beforeEach(async () => {
      catalog = current();
      await catalog.createVault(vault());
      await catalog.createVault(vault({ id: "v2", name: "other" }));
      await catalog.putDisk(disk({ name: "web.disk0" }));
      await catalog.putDisk(disk({ name: "web.disk1" }));
    });

    /** Everything a failed commit could have touched. */
    const state = async () => ({
      points: await catalog.listRecoveryPoints("v1"),
      vmPoints: await catalog.listVmPoints("v1"),
      disks: await catalog.listDisks("v1"),
    });

    it("puts, replaces, gets and lists VMs by name; a missing one is NotFoundError", async () => {
      await catalog.putVm(vm({ name: "web" }));
      await catalog.putVm(vm({ name: "db", policy: "daily" }));
      await catalog.putVm(vm({ name: "web", bootDisk: 1 }));
      expect(await catalog.getVm("v1", "web")).toStrictEqual(vm({ bootDisk: 1 }));
      expect((await catalog.listVms("v1")).map((v) => v.name)).toStrictEqual(["db", "web"]);
      expect(await catalog.listVms("v2")).toStrictEqual([]);
      await expect(catalog.getVm("v1", "nope")).rejects.toBeInstanceOf(NotFoundError);
      await expect(catalog.getVm("v2", "web")).rejects.toBeInstanceOf(NotFoundError);
    });

    it("commits a VM point with every disk's point at once, and round-trips it", async () => {
      await catalog.commitVmPoint(vmPoint("vp1", ["a1", "b1"]), commits(["a1", "b1"]));
      expect(await catalog.getVmPoint("v1", "vp1")).toStrictEqual(vmPoint("vp1", ["a1", "b1"]));
      expect((await catalog.latestRecoveryPoint("v1", "web.disk0"))?.id).toBe("a1");
      expect((await catalog.latestRecoveryPoint("v1", "web.disk1"))?.id).toBe("b1");
      expect((await catalog.getDisk("v1", "web.disk1")).size).toBe(2 << 20);
      expect(await catalog.vmPointOf("v1", "a1")).toBe("vp1");
      expect(await catalog.vmPointOf("v1", "b1")).toBe("vp1");
      expect(await catalog.vmPointOf("v1", "loose")).toBeUndefined();
    });

    it("round-trips a VM point without a reason or deletion time as having none", async () => {
      const { consistencyReason: _, ...bare } = vmPoint("vp1", ["a1", "b1"]);
      const plain = { ...bare, consistency: Consistency.Application };
      await catalog.commitVmPoint(plain, commits(["a1", "b1"]));
      const got = await catalog.getVmPoint("v1", "vp1");
      expect(got).toStrictEqual(plain);
      expect("consistencyReason" in got || "deleteAfter" in got).toBe(false);
    });

    it("writes nothing when one disk's parent is not its latest point", async () => {
      await catalog.commitVmPoint(vmPoint("vp1", ["a1", "b1"]), commits(["a1", "b1"]));
      const before = await state();
      const next = vmPoint("vp2", ["a2", "b2"], { created: 1_700_000_200_000 });
      await expect(catalog.commitVmPoint(next, commits(["a2", "b2"], ["a1", null]))).rejects.toBeInstanceOf(
        ConflictError,
      );
      expect(await state()).toStrictEqual(before);
      await expect(catalog.getRecoveryPoint("v1", "a2")).rejects.toBeInstanceOf(NotFoundError);
      expect(await catalog.vmPointOf("v1", "a2")).toBeUndefined();
      await catalog.commitVmPoint(next, commits(["a2", "b2"], ["a1", "b1"]));
      expect((await catalog.listVmPoints("v1", "web")).map((p) => p.id)).toStrictEqual(["vp2", "vp1"]);
    });

    it("refuses an existing VM point id or disk point id with AlreadyExistsError, writing nothing", async () => {
      await catalog.commitVmPoint(vmPoint("vp1", ["a1", "b1"]), commits(["a1", "b1"]));
      const before = await state();
      await expect(
        catalog.commitVmPoint(vmPoint("vp1", ["a2", "b2"]), commits(["a2", "b2"], ["a1", "b1"])),
      ).rejects.toBeInstanceOf(AlreadyExistsError);
      await expect(
        catalog.commitVmPoint(vmPoint("vp2", ["a2", "b1"]), commits(["a2", "b1"], ["a1", "b1"])),
      ).rejects.toBeInstanceOf(AlreadyExistsError);
      // A retried commit that landed says it exists before it says its parents moved on.
      await expect(
        catalog.commitVmPoint(vmPoint("vp1", ["a1", "b1"]), commits(["a1", "b1"])),
      ).rejects.toBeInstanceOf(AlreadyExistsError);
      expect(await state()).toStrictEqual(before);
    });

    it("refuses a VM point whose list is not its disks' points in order, or that has none", async () => {
      await expect(
        catalog.commitVmPoint(vmPoint("vp1", ["b1", "a1"]), commits(["a1", "b1"])),
      ).rejects.toBeInstanceOf(ValidationError);
      await expect(catalog.commitVmPoint(vmPoint("vp1", []), [])).rejects.toBeInstanceOf(ValidationError);
      expect(await state()).toStrictEqual({ points: [], vmPoints: [], disks: await catalog.listDisks("v1") });
    });

    it("lists VM points newest first, of one VM or all, equal times by commit order", async () => {
      await catalog.commitVmPoint(vmPoint("vp1", ["a1", "b1"]), commits(["a1", "b1"]));
      await catalog.commitVmPoint(vmPoint("vp2", ["a2", "b2"]), commits(["a2", "b2"], ["a1", "b1"]));
      await catalog.putDisk(disk({ name: "db.disk0" }));
      const db = {
        point: point("c1", { disk: "db.disk0", created: 1_700_000_050_000 }),
        expectedParent: null,
      };
      await catalog.commitVmPoint(vmPoint("vp3", ["c1"], { vm: "db", created: 1_700_000_050_000 }), [db]);
      expect((await catalog.listVmPoints("v1")).map((p) => p.id)).toStrictEqual(["vp2", "vp1", "vp3"]);
      expect((await catalog.listVmPoints("v1", "web")).map((p) => p.id)).toStrictEqual(["vp2", "vp1"]);
      expect(await catalog.listVmPoints("v1", "none")).toStrictEqual([]);
      expect(await catalog.listVmPoints("v2")).toStrictEqual([]);
    });

    it("updates a VM point's state and deletion time; a missing one is NotFoundError", async () => {
      await catalog.commitVmPoint(vmPoint("vp1", ["a1", "b1"]), commits(["a1", "b1"]));
      const deleted = await catalog.updateVmPoint("v1", "vp1", {
        state: PointState.SoftDeleted,
        deleteAfter: 1_800_000_000_000,
      });
      expect(deleted).toStrictEqual({
        ...vmPoint("vp1", ["a1", "b1"]),
        state: "soft-deleted",
        deleteAfter: 1_800_000_000_000,
      });
      expect(await catalog.getVmPoint("v1", "vp1")).toStrictEqual(deleted);
      const back = await catalog.updateVmPoint("v1", "vp1", {
        state: PointState.Available,
        deleteAfter: undefined,
      });
      expect(back).toStrictEqual(vmPoint("vp1", ["a1", "b1"]));
      await expect(catalog.updateVmPoint("v1", "nope", { state: PointState.Purged })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await expect(catalog.getVmPoint("v2", "vp1")).rejects.toBeInstanceOf(NotFoundError);
    });
  });
}

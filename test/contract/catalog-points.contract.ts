import { beforeEach, describe, expect, it } from "vitest";
import { AlreadyExistsError, ConflictError, NotFoundError } from "../../lib/errors.ts";
import { PointState, Tier } from "../../lib/model.ts";
import type { Catalog } from "../../lib/ports/catalog.ts";
import { disk, point, vault } from "./catalog-records.ts";

const ids = (points: readonly { id: string }[]) => points.map((p) => p.id);

/**
 * The recovery-point clauses of the Catalog contract; part of `describeCatalogContract`.
 * `current` returns the catalog of the running test.
 */
export function describePointClauses(current: () => Catalog): void {
  describe("recovery points", () => {
    let catalog: Catalog;
    beforeEach(async () => {
      catalog = current();
      await catalog.createVault(vault());
      await catalog.createVault(vault({ id: "v2", name: "other" }));
      await catalog.putDisk(disk());
    });

    /** Everything a failed commit could have touched, to show it touched nothing. */
    const snapshot = async () => ({
      points: await catalog.listRecoveryPoints("v1"),
      disk: await catalog.getDisk("v1", "d1"),
      latest: await catalog.latestRecoveryPoint("v1", "d1"),
    });

    it("commits a first point against null and round-trips it, optional fields absent", async () => {
      await catalog.commitRecoveryPoint(point("p1"), null);
      const got = await catalog.getRecoveryPoint("v1", "p1");
      expect(got).toStrictEqual(point("p1"));
      expect("sourceRef" in got || "deleteAfter" in got).toBe(false);
    });

    it("round-trips a parent and the optional fields", async () => {
      const p1 = point("p1", { sourceRef: "snap-0123", deleteAfter: 1_800_000_000_000, tier: Tier.Snapshot });
      await catalog.commitRecoveryPoint(p1, null);
      const p2 = point("p2", {
        parent: "p1",
        created: p1.created + 1,
        consistency: "application-consistent",
      });
      await catalog.commitRecoveryPoint(p2, "p1");
      expect(await catalog.getRecoveryPoint("v1", "p1")).toStrictEqual(p1);
      expect(await catalog.getRecoveryPoint("v1", "p2")).toStrictEqual(p2);
    });

    it("sets the disk's size to the point's logical size, leaving the rest of the disk alone", async () => {
      await catalog.commitRecoveryPoint(point("p1", { logicalSize: 10 << 30 }), null);
      expect(await catalog.getDisk("v1", "d1")).toStrictEqual(disk({ size: 10 << 30 }));
    });

    it("commits a point of an unregistered disk without creating a disk record", async () => {
      await catalog.commitRecoveryPoint(point("p1", { disk: "loose" }), null);
      expect(await catalog.getRecoveryPoint("v1", "p1")).toStrictEqual(point("p1", { disk: "loose" }));
      await expect(catalog.getDisk("v1", "loose")).rejects.toBeInstanceOf(NotFoundError);
      expect((await catalog.getDisk("v1", "d1")).size).toBe(disk().size);
    });

    it("chains commits, each naming the previous latest point", async () => {
      await catalog.commitRecoveryPoint(point("p1", { created: 1 }), null);
      await catalog.commitRecoveryPoint(point("p2", { created: 2, parent: "p1" }), "p1");
      await catalog.commitRecoveryPoint(point("p3", { created: 3, parent: "p2" }), "p2");
      expect((await catalog.latestRecoveryPoint("v1", "d1"))?.id).toBe("p3");
    });

    it("rejects a commit against null when the disk has an available point, writing nothing", async () => {
      await catalog.commitRecoveryPoint(point("p1"), null);
      const before = await snapshot();
      const late = point("late", { logicalSize: 99 << 30, created: before.points[0]!.created + 10 });
      await expect(catalog.commitRecoveryPoint(late, null)).rejects.toBeInstanceOf(ConflictError);
      await expect(catalog.getRecoveryPoint("v1", "late")).rejects.toBeInstanceOf(NotFoundError);
      expect(await snapshot()).toStrictEqual(before);
    });

    it("rejects a commit naming a stale or unknown parent, writing nothing", async () => {
      await catalog.commitRecoveryPoint(point("p1", { created: 1 }), null);
      await catalog.commitRecoveryPoint(point("p2", { created: 2 }), "p1");
      const before = await snapshot();
      for (const expected of ["p1", "ghost"]) {
        const err = await catalog
          .commitRecoveryPoint(point("p3", { created: 3, logicalSize: 1 }), expected)
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConflictError);
      }
      expect(await snapshot()).toStrictEqual(before);
    });

    it("checks the id before the parent: a duplicate id is AlreadyExistsError even with a correct parent", async () => {
      await catalog.commitRecoveryPoint(point("p1"), null);
      const before = await snapshot();
      // Same id, different disk, correct (null) parent for that disk: the id check still wins.
      await expect(catalog.commitRecoveryPoint(point("p1", { disk: "d9" }), null)).rejects.toBeInstanceOf(
        AlreadyExistsError,
      );
      expect(await snapshot()).toStrictEqual(before);
      expect(await catalog.listRecoveryPoints("v1", "d9")).toStrictEqual([]);
    });

    it("reports a retried commit that already landed as AlreadyExistsError, not a conflict", async () => {
      await catalog.commitRecoveryPoint(point("p1"), null);
      await expect(catalog.commitRecoveryPoint(point("p1"), null)).rejects.toBeInstanceOf(AlreadyExistsError);
      expect(ids(await catalog.listRecoveryPoints("v1"))).toStrictEqual(["p1"]);
    });

    it("scopes point ids to their vault", async () => {
      await catalog.commitRecoveryPoint(point("p1"), null);
      await catalog.commitRecoveryPoint(point("p1", { vaultId: "v2", manifest: "other" }), null);
      expect((await catalog.getRecoveryPoint("v1", "p1")).manifest).toBe("manifest-p1");
      expect((await catalog.getRecoveryPoint("v2", "p1")).manifest).toBe("other");
    });

    it("rejects a missing point with NotFoundError naming it", async () => {
      await catalog.commitRecoveryPoint(point("p1"), null);
      const err = await catalog.getRecoveryPoint("v1", "nopoint").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toContain("nopoint");
      await expect(catalog.getRecoveryPoint("v2", "p1")).rejects.toBeInstanceOf(NotFoundError);
    });

    it("lists points newest first by created, per disk or for the whole vault only", async () => {
      await catalog.commitRecoveryPoint(point("a", { created: 1000 }), null);
      await catalog.commitRecoveryPoint(point("b", { created: 3000, disk: "d2" }), null);
      await catalog.commitRecoveryPoint(point("c", { created: 2000 }), "a");
      await catalog.commitRecoveryPoint(point("x", { vaultId: "v2", created: 5000 }), null);
      expect(ids(await catalog.listRecoveryPoints("v1"))).toStrictEqual(["b", "c", "a"]);
      expect(ids(await catalog.listRecoveryPoints("v1", "d1"))).toStrictEqual(["c", "a"]);
      expect(ids(await catalog.listRecoveryPoints("v1", "d2"))).toStrictEqual(["b"]);
      expect(await catalog.listRecoveryPoints("v1", "none")).toStrictEqual([]);
    });

    it("orders points created in the same millisecond by commit order, later first", async () => {
      let parent: string | null = null;
      for (const id of ["t1", "t2", "t3", "t4"]) {
        await catalog.commitRecoveryPoint(point(id, { created: 5000 }), parent);
        parent = id;
      }
      expect(ids(await catalog.listRecoveryPoints("v1", "d1"))).toStrictEqual(["t4", "t3", "t2", "t1"]);
      expect((await catalog.latestRecoveryPoint("v1", "d1"))?.id).toBe("t4");
    });

    it("lists points in every state, and the latest is the newest available one", async () => {
      await catalog.commitRecoveryPoint(point("p1", { created: 1 }), null);
      await catalog.commitRecoveryPoint(point("p2", { created: 2 }), "p1");
      await catalog.updateRecoveryPoint("v1", "p2", { state: PointState.SoftDeleted, deleteAfter: 99 });
      expect(ids(await catalog.listRecoveryPoints("v1", "d1"))).toStrictEqual(["p2", "p1"]);
      expect(await catalog.latestRecoveryPoint("v1", "d1")).toStrictEqual(point("p1", { created: 1 }));
      await expect(catalog.commitRecoveryPoint(point("p3", { created: 3 }), "p2")).rejects.toBeInstanceOf(
        ConflictError,
      );
      await catalog.commitRecoveryPoint(point("p3", { created: 3 }), "p1");
      expect((await catalog.latestRecoveryPoint("v1", "d1"))?.id).toBe("p3");
    });

    it("has no latest point, and accepts a commit against null, when none is available", async () => {
      expect(await catalog.latestRecoveryPoint("v1", "d1")).toBeUndefined();
      expect(await catalog.latestRecoveryPoint("v1", "unknown-disk")).toBeUndefined();
      await catalog.commitRecoveryPoint(point("p1"), null);
      await catalog.updateRecoveryPoint("v1", "p1", { state: PointState.Purged });
      expect(await catalog.latestRecoveryPoint("v1", "d1")).toBeUndefined();
      await catalog.commitRecoveryPoint(point("p2", { created: point("p1").created + 1 }), null);
      expect((await catalog.latestRecoveryPoint("v1", "d1"))?.id).toBe("p2");
    });

    it("updates the named fields, returns the result and persists it", async () => {
      await catalog.commitRecoveryPoint(point("p1", { sourceRef: "snap-1" }), null);
      const updated = await catalog.updateRecoveryPoint("v1", "p1", {
        tier: Tier.Archive,
        state: PointState.SoftDeleted,
        deleteAfter: 1234,
      });
      const expected = point("p1", {
        sourceRef: "snap-1",
        tier: Tier.Archive,
        state: PointState.SoftDeleted,
        deleteAfter: 1234,
      });
      expect(updated).toStrictEqual(expected);
      expect(await catalog.getRecoveryPoint("v1", "p1")).toStrictEqual(expected);
      expect(await catalog.updateRecoveryPoint("v1", "p1", { tier: Tier.Vault })).toStrictEqual({
        ...expected,
        tier: Tier.Vault,
      });
    });

    it("round-trips and updates a point's committed retention end", async () => {
      await catalog.commitRecoveryPoint(point("p1", { retainUntil: 1_900_000_000_000 }), null);
      expect((await catalog.getRecoveryPoint("v1", "p1")).retainUntil).toBe(1_900_000_000_000);
      const raised = await catalog.updateRecoveryPoint("v1", "p1", { retainUntil: 1_950_000_000_000 });
      expect(raised).toStrictEqual(point("p1", { retainUntil: 1_950_000_000_000 }));
      expect(await catalog.getRecoveryPoint("v1", "p1")).toStrictEqual(raised);
    });

    it("clears deleteAfter when it is given as undefined", async () => {
      await catalog.commitRecoveryPoint(point("p1", { state: PointState.SoftDeleted, deleteAfter: 5 }), null);
      const restored = await catalog.updateRecoveryPoint("v1", "p1", {
        state: PointState.Available,
        deleteAfter: undefined,
      });
      expect(restored).toStrictEqual(point("p1"));
      expect(await catalog.getRecoveryPoint("v1", "p1")).toStrictEqual(point("p1"));
    });

    it("rejects an update of a missing point with NotFoundError", async () => {
      await catalog.commitRecoveryPoint(point("p1"), null);
      await expect(catalog.updateRecoveryPoint("v1", "ghost", { tier: Tier.Archive })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await expect(catalog.updateRecoveryPoint("v2", "p1", { tier: Tier.Archive })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      expect(await catalog.getRecoveryPoint("v1", "p1")).toStrictEqual(point("p1"));
    });
  });
}

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConflictError } from "../../lib/errors.ts";
import {
  PackRefState,
  PointRelease,
  type ReferenceStore,
  SegmentRefState,
} from "../../lib/ports/references.ts";

/** What a contract run needs: a reference store with a vault `vaultId` that exists, and a cleanup. */
export interface ReferenceStoreFixture {
  readonly refs: ReferenceStore;
  readonly vaultId: string;
  cleanup(): Promise<void>;
}

/** The {@link ReferenceStore} contract, clause by clause. */
export function describeReferenceStoreContract(
  name: string,
  make: () => Promise<ReferenceStoreFixture>,
): void {
  describe(`ReferenceStore contract: ${name}`, () => {
    let fixture: ReferenceStoreFixture;
    let refs: ReferenceStore;
    let v: string;
    beforeEach(async () => {
      fixture = await make();
      refs = fixture.refs;
      v = fixture.vaultId;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    const stale = (p: Promise<unknown>) =>
      expect(p).rejects.toSatisfy((e: unknown) => e instanceof ConflictError && e.retryable === true);

    it("tracks a vault only once told to, idempotently", async () => {
      expect(await refs.isTracking(v)).toBe(false);
      await refs.track(v);
      await refs.track(v);
      expect(await refs.isTracking(v)).toBe(true);
    });

    it("registers live packs idempotently and records the index naming them", async () => {
      await refs.registerPacks(v, ["p1", "p2"], 10);
      await refs.registerPacks(v, ["p1"], 20);
      await refs.setPackIndex(v, ["p1", "p2"], "i1");
      expect(await refs.getPack(v, "p1")).toStrictEqual({
        id: "p1",
        state: "live",
        holders: 0,
        index: "i1",
        changed: 10,
      });
      expect((await refs.packsOfIndex(v, "i1")).map((p) => p.id)).toEqual(["p1", "p2"]);
      expect(await refs.getPack(v, "missing")).toBeUndefined();
    });

    it("holds and releases packs as sets: repeating either changes nothing", async () => {
      await refs.registerPacks(v, ["p1"], 1);
      await refs.holdPack(v, "p1", ["s1", "s2"]);
      await refs.holdPack(v, "p1", ["s1"]);
      expect((await refs.getPack(v, "p1"))?.holders).toBe(2);
      expect(await refs.releasePack(v, "p1", ["s1"])).toBe(1);
      expect(await refs.releasePack(v, "p1", ["s1"])).toBe(1);
      expect(await refs.releasePack(v, "p1", ["s2"])).toBe(0);
      expect(await refs.releasePack(v, "nothing", ["s2"])).toBe(0);
    });

    it("condemns only a live pack without holders, and then refuses to hold or register it", async () => {
      await refs.registerPacks(v, ["p1"], 1);
      await refs.holdPack(v, "p1", ["s1"]);
      expect(await refs.condemnPack(v, "p1", 5)).toBe(false);
      await refs.releasePack(v, "p1", ["s1"]);
      expect(await refs.condemnPack(v, "p1", 5)).toBe(true);
      expect(await refs.condemnPack(v, "p1", 6)).toBe(false);
      await stale(refs.holdPack(v, "p1", ["s9"]));
      await stale(refs.registerPacks(v, ["p1"], 7));
      expect((await refs.listPacks(v, "condemned")).map((p) => [p.id, p.changed])).toEqual([["p1", 5]]);
      await refs.markPackDeleted(v, "p1", 8);
      expect(await refs.getPack(v, "p1")).toMatchObject({ state: PackRefState.Deleted, changed: 8 });
      await stale(refs.holdPack(v, "p1", ["s9"]));
      expect(await refs.listPacks(v, "condemned")).toEqual([]);
      await refs.dropPack(v, "p1");
      expect(await refs.getPack(v, "p1")).toBeUndefined();
      expect(await refs.listPacks(v, "deleted")).toEqual([]);
    });

    it("lists live packs registered before a time and never held, until their first hold", async () => {
      await refs.registerPacks(v, ["p1", "p2"], 10);
      await refs.registerPacks(v, ["p3"], 30);
      expect((await refs.listUnheldPacks(v, 20)).map((p) => p.id)).toEqual(["p1", "p2"]);
      await refs.holdPack(v, "p1", ["s1"]);
      await refs.releasePack(v, "p1", ["s1"]);
      expect((await refs.listUnheldPacks(v, 40)).map((p) => p.id)).toEqual(["p2", "p3"]);
      expect(await refs.condemnPack(v, "p2", 50)).toBe(true);
      expect((await refs.listUnheldPacks(v, 40)).map((p) => p.id)).toEqual(["p3"]);
      expect(await refs.listUnheldPacks(v, 10)).toEqual([]);
    });

    it("refuses to hold a pack it has no record of", async () => {
      await stale(refs.holdPack(v, "ghost", ["s1"]));
    });

    it("creates a segment on first hold, keeps its packs after, and releases holders as a set", async () => {
      const created = await refs.holdSegment(v, "s1", ["d/0/a"], ["p2", "p1", "p1"]);
      expect(created).toStrictEqual({
        id: "s1",
        state: SegmentRefState.Live,
        holders: ["d/0/a"],
        packs: ["p1", "p2"],
      });
      const again = await refs.holdSegment(v, "s1", ["d/0/a", "d/1/b"], ["p3"]);
      expect(again.packs).toEqual(["p1", "p2"]);
      expect([...again.holders].sort()).toEqual(["d/0/a", "d/1/b"]);
      expect(await refs.releaseSegment(v, "s1", ["d/0/a"])).toBe(1);
      expect(await refs.releaseSegment(v, "s1", ["d/0/a"])).toBe(1);
      expect(await refs.releaseSegment(v, "missing", ["x"])).toBeUndefined();
    });

    it("holds segments and packs in batches, returning the records in order", async () => {
      await refs.registerPacks(v, ["p1", "p2"], 1);
      const records = await refs.holdSegments(v, [
        { segment: "s2", holders: ["d/1/a"], packs: ["p2"] },
        { segment: "s1", holders: ["d/0/a"], packs: ["p1", "p2"] },
      ]);
      expect(records.map((r) => [r.id, r.packs])).toEqual([
        ["s2", ["p2"]],
        ["s1", ["p1", "p2"]],
      ]);
      await refs.holdPacks(v, [
        { pack: "p1", segments: ["s1"] },
        { pack: "p2", segments: ["s1", "s2"] },
      ]);
      expect((await refs.getPack(v, "p2"))?.holders).toBe(2);
      await stale(refs.holdPacks(v, [{ pack: "ghost", segments: ["s1"] }]));
      await refs.releaseSegment(v, "s2", ["d/1/a"]);
      await refs.killSegment(v, "s2");
      await stale(refs.holdSegments(v, [{ segment: "s2", holders: ["d/1/b"], packs: ["p2"] }]));
    });

    it("kills only a live segment without holders; a dead one cannot be held, and can be forgotten", async () => {
      await refs.holdSegment(v, "s1", ["h"], ["p1"]);
      expect(await refs.killSegment(v, "s1")).toBe(false);
      await refs.releaseSegment(v, "s1", ["h"]);
      expect(await refs.killSegment(v, "s1")).toBe(true);
      expect(await refs.killSegment(v, "s1")).toBe(false);
      await stale(refs.holdSegment(v, "s1", ["h2"], ["p1"]));
      expect(await refs.listDeadSegments(v)).toStrictEqual([
        { id: "s1", state: "dead", holders: [], packs: ["p1"] },
      ]);
      await refs.dropSegment(v, "s1");
      expect(await refs.getSegment(v, "s1")).toBeUndefined();
      expect(await refs.listDeadSegments(v)).toEqual([]);
      // Forgotten, the same content can be held afresh.
      expect((await refs.holdSegment(v, "s1", ["h3"], ["p4"])).packs).toEqual(["p4"]);
    });

    it("records, changes and clears a point's release state", async () => {
      await refs.setPointRelease(v, "pt1", PointRelease.Releasing);
      await refs.setPointRelease(v, "pt2", PointRelease.Releasing);
      await refs.setPointRelease(v, "pt1", PointRelease.Released);
      await refs.setPointRelease(v, "pt2", undefined);
      expect(await refs.pointReleases(v)).toStrictEqual(new Map([["pt1", "released"]]));
    });

    it("gives a lease to one owner at a time until it expires or is freed", async () => {
      expect(await refs.acquireLease(v, "gc", "a", 100, 0)).toBe(true);
      expect(await refs.acquireLease(v, "gc", "b", 200, 50)).toBe(false);
      expect(await refs.acquireLease(v, "gc", "a", 300, 60)).toBe(true);
      expect(await refs.acquireLease(v, "gc", "b", 400, 301)).toBe(true);
      await refs.releaseLease(v, "gc", "a");
      expect(await refs.acquireLease(v, "gc", "c", 500, 302)).toBe(false);
      await refs.releaseLease(v, "gc", "b");
      expect(await refs.acquireLease(v, "gc", "c", 500, 302)).toBe(true);
    });

    it("renews a lease for its owner only, and frees it at once on release (heartbeat-backed leases)", async () => {
      expect(await refs.acquireLease(v, "reclaim", "a", 1_000, 0)).toBe(true);
      // Renewing moves `until` forward: at 1_500 the lease is still a's.
      expect(await refs.acquireLease(v, "reclaim", "a", 2_000, 900)).toBe(true);
      expect(await refs.acquireLease(v, "reclaim", "b", 3_000, 1_500)).toBe(false);
      // a stops renewing (killed): the lease lapses at its `until`, and a cannot take it back.
      expect(await refs.acquireLease(v, "reclaim", "b", 3_000, 2_001)).toBe(true);
      expect(await refs.acquireLease(v, "reclaim", "a", 4_000, 2_002)).toBe(false);
      // Released by its holder, it is free long before its `until`; a stranger's release is ignored.
      await refs.releaseLease(v, "reclaim", "a");
      expect(await refs.acquireLease(v, "reclaim", "c", 9_000, 2_003)).toBe(false);
      await refs.releaseLease(v, "reclaim", "b");
      expect(await refs.acquireLease(v, "reclaim", "c", 9_000, 2_003)).toBe(true);
      // Leases of other names are independent.
      expect(await refs.acquireLease(v, "garbage-collection", "d", 9_000, 2_004)).toBe(true);
    });

    it("keeps exactly one winner when a hold and a kill race on the same segment", async () => {
      await refs.holdSegment(v, "s1", ["h"], ["p1"]);
      await refs.releaseSegment(v, "s1", ["h"]);
      const [hold, kill] = await Promise.allSettled([
        refs.holdSegment(v, "s1", ["h2"], []),
        refs.killSegment(v, "s1"),
      ]);
      const held = hold.status === "fulfilled";
      const killed = kill.status === "fulfilled" && kill.value === true;
      expect(held !== killed).toBe(true);
    });
  });
}

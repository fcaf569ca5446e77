import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AccessDeniedError, BlockvaultError } from "../../lib/errors.ts";
import { JobStatus, JobType } from "../../lib/model.ts";
import { Role } from "../../lib/rules/roles.ts";
import { DAY, GcFixture, listIds } from "../helpers/gc-fixture.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const MIB = 1024 * 1024;
let f: GcFixture;

beforeEach(async () => {
  f = new GcFixture();
  await f.setUp();
});

afterEach(async () => {
  await f.tearDown();
});

/** `base` with `count` 4 KiB blocks rewritten, starting at block `first`. */
function mutate(base: Buffer, first: number, count: number, seed: number): Buffer {
  const out = Buffer.from(base);
  seededBytes(seed, count * 4096).copy(out, first * 4096);
  return out;
}

async function expectRestores(images: Map<string, Buffer>): Promise<void> {
  for (const [id, bytes] of images)
    expect(sha256(await restoreBytes(f.vault, id, f.root)), id).toBe(sha256(bytes));
}

describe("garbage collection", () => {
  it("deletes the packs only a purged point referenced and keeps every other point restorable", async () => {
    const one = seededBytes(1, MIB);
    const two = seededBytes(2, MIB);
    const three = mutate(two, 10, 3, 3);
    const p1 = await f.backup("web", one);
    const packsOfP1 = await f.packs();
    const p2 = await f.backup("web", two);
    const p3 = await f.backup("web", three);
    await f.purge(p1);
    const result = await f.vault.collectGarbage();
    expect(result.pointsReleased).toEqual([p1]);
    expect(result.packsDeleted.sort()).toEqual(packsOfP1);
    expect(result.bytesFreed).toBeGreaterThan(MIB / 2);
    for (const id of packsOfP1) expect(await f.packExists(id)).toBe(false);
    await expectRestores(
      new Map([
        [p2, two],
        [p3, three],
      ]),
    );
    expect((await f.vault.check({ readData: true })).ok).toBe(true);

    // p3 still uses most of p2's blocks: purging p2 frees nothing.
    await f.purge(p2);
    const second = await f.vault.collectGarbage();
    expect(second.pointsReleased).toEqual([p2]);
    expect(second.packsDeleted).toEqual([]);
    await expectRestores(new Map([[p3, three]]));
  });

  it("finishes a collection that stopped after rewriting the index objects, before deleting the packs", async () => {
    const one = seededBytes(1, MIB);
    const two = seededBytes(2, MIB);
    const p1 = await f.backup("web", one);
    const packsOfP1 = await f.packs();
    const p2 = await f.backup("web", two);
    await f.purge(p1);
    // The first pack deletion fails: the index objects naming p1's packs are already gone.
    const store = f.vault.ctx.deps.store;
    const del = store.delete.bind(store);
    let failed = false;
    store.delete = async (key) => {
      if (key.startsWith("packs/") && !failed) {
        failed = true;
        throw new BlockvaultError("injected: the process stopped here");
      }
      return del(key);
    };
    await expect(f.vault.collectGarbage()).rejects.toThrow(/injected/);
    expect(await listIds(store, "packs/")).toEqual(expect.arrayContaining(packsOfP1));
    const again = await f.vault.collectGarbage();
    expect(again.packsDeleted.sort()).toEqual(packsOfP1);
    for (const id of packsOfP1) expect(await f.packExists(id)).toBe(false);
    await expectRestores(new Map([[p2, two]]));
    expect((await f.vault.check({ readData: true })).ok).toBe(true);
  });

  it("keeps a soft-deleted point's blocks, so it stays restorable and can be undeleted", async () => {
    const one = seededBytes(4, MIB);
    const p1 = await f.backup("web", one);
    await f.backup("web", seededBytes(5, MIB));
    await f.vault.deletePoint(p1);
    const result = await f.vault.collectGarbage();
    expect(result).toMatchObject({ pointsReleased: [], packsDeleted: [] });
    await expectRestores(new Map([[p1, one]]));
    await f.vault.undeletePoint(p1);
    await expectRestores(new Map([[p1, one]]));
  });

  it("deletes every pack once every point of every disk is purged, and the index with them", async () => {
    const a1 = await f.backup("a", seededBytes(6, MIB));
    const a2 = await f.backup("a", mutate(seededBytes(6, MIB), 0, 8, 7));
    const b1 = await f.backup("b", seededBytes(6, MIB)); // deduplicated against disk a
    await f.purge(a1, a2, b1);
    const result = await f.vault.collectGarbage();
    expect(result.pointsReleased.sort()).toEqual([a1, a2, b1].sort());
    expect(await f.packs()).toEqual([]);
    expect(await listIds(f.vault.ctx.deps.store, "index/")).toEqual([]);
    const reclaimed = await f.vault.reclaim({ graceMs: 0 });
    expect(reclaimed.manifests.length).toBeGreaterThan(0);
    expect(await listIds(f.vault.ctx.deps.store, "manifests/")).toEqual([]);
  });

  it("keeps blocks another disk shares when one disk's points are purged", async () => {
    const shared = seededBytes(8, MIB);
    const a1 = await f.backup("a", shared);
    const b1 = await f.backup("b", shared);
    await f.purge(a1);
    expect((await f.vault.collectGarbage()).packsDeleted).toEqual([]);
    await expectRestores(new Map([[b1, shared]]));
  });

  it("keeps the last point of a disk while a backup of that disk is running, and releases it after", async () => {
    const p1 = await f.backup("web", seededBytes(9, MIB));
    await f.purge(p1);
    const { catalog } = f.vault.ctx.deps;
    const job = {
      vaultId: f.vault.id,
      id: "running-backup",
      type: JobType.Backup,
      status: JobStatus.Running,
    };
    await catalog.createJob({
      ...job,
      disk: "web",
      started: f.now,
      attempts: 1,
      bytesScanned: 0,
      bytesChanged: 0,
      bytesStored: 0,
    });
    const deferred = await f.vault.collectGarbage();
    expect(deferred).toMatchObject({ pointsReleased: [], pointsDeferred: [p1], packsDeleted: [] });
    // A job "running" for longer than the grace period is a crashed run and no longer counts.
    f.now += 2 * DAY;
    const later = await f.vault.collectGarbage();
    expect(later.pointsReleased).toEqual([p1]);
    expect(await f.packs()).toEqual([]);
  });

  it("lets a backup that finds its blocks collected store them again", async () => {
    const image = seededBytes(10, MIB);
    const p1 = await f.backup("web", image);
    await f.purge(p1);
    await f.vault.collectGarbage();
    const p2 = await f.backup("web", image);
    await expectRestores(new Map([[p2, image]]));
    expect((await f.vault.check({ readData: true })).ok).toBe(true);
  });

  it("deletes the packs of a backup that failed before holding them, once no backup can still need them", async () => {
    const kept = seededBytes(11, MIB);
    const p1 = await f.backup("web", kept);
    const packsBefore = await f.packs();
    // The commit fails after the packs are stored, indexed and registered, before they are held.
    const refs = f.vault.ctx.deps.references!;
    const hold = refs.holdSegments.bind(refs);
    refs.holdSegments = async () => {
      throw new BlockvaultError("simulated: the reference store is down");
    };
    await expect(f.backup("web", seededBytes(12, MIB))).rejects.toThrow(/simulated/);
    refs.holdSegments = hold;
    const orphaned = (await f.packs()).filter((p) => !packsBefore.includes(p));
    expect(orphaned.length).toBeGreaterThan(0);
    // Too young: a backup might still be about to hold them.
    expect((await f.vault.collectGarbage()).packsDeleted).toEqual([]);
    f.now += 5 * DAY;
    expect((await f.vault.collectGarbage()).packsDeleted.sort()).toEqual(orphaned.sort());
    expect(await f.packs()).toEqual(packsBefore);
    await expectRestores(new Map([[p1, kept]]));
  });

  it("records each collection in the audit log and refuses a reader", async () => {
    await f.vault.collectGarbage();
    const reader = f.vault.as({ name: "rita", roles: [Role.Reader] });
    await expect(reader.collectGarbage()).rejects.toThrow(AccessDeniedError);
    const entries = await f.vault.listAudit({ action: "vault.gc" });
    expect(entries.map((e) => [e.principal, e.outcome])).toEqual([
      ["owner", "succeeded"],
      ["rita", "refused"],
    ]);
  });
});

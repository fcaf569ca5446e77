import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsObjectStore } from "../../lib/adapters/local/fs-object-store.ts";
import {
  retainAllPoints,
  retainPointObjects,
  retainPoints,
} from "../../lib/engine/points/object-retention.ts";
import { VaultObjects } from "../../lib/engine/points/point-objects.ts";
import { RetainedObjectError } from "../../lib/errors.ts";
import { LockState, type RecoveryPointRecord } from "../../lib/model.ts";
import { RetentionMode } from "../../lib/ports/object-store.ts";
import { DAY, GcFixture, listIds } from "../helpers/gc-fixture.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const MIB = 1024 * 1024;
let f: GcFixture;
/** A second view of the vault's objects, to read what retention each carries. */
let files: FsObjectStore;

beforeEach(async () => {
  f = new GcFixture();
  await f.setUp("retention");
  files = new FsObjectStore(join(f.root, "vault", "objects"), { clock: { now: () => f.now } });
});
afterEach(() => f.tearDown());

const point = (id: string) => f.vault.ctx.deps.catalog.getRecoveryPoint(f.vault.ctx.config.vaultId, id);
async function setRetainUntil(id: string, until: number): Promise<RecoveryPointRecord> {
  return f.vault.ctx.deps.catalog.updateRecoveryPoint(f.vault.ctx.config.vaultId, id, { retainUntil: until });
}
async function allKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of files.list("")) keys.push(info.key);
  return keys.sort();
}
function mutate(base: Buffer, first: number, count: number, seed: number): Buffer {
  const out = Buffer.from(base);
  seededBytes(seed, count * 4096).copy(out, first * 4096);
  return out;
}

describe("retaining a recovery point's objects", () => {
  it("retains every object the point needs to at least its retainUntil, in governance mode while unlocked", async () => {
    const p1 = await f.backup("web", seededBytes(1, MIB));
    const until = f.now + 30 * DAY;
    const result = await retainPointObjects(f.vault.ctx, await setRetainUntil(p1, until));
    // The only point: it needs everything in the vault, config included.
    const keys = await allKeys();
    expect(keys).toContain("config");
    expect(keys.some((k) => k.startsWith("packs/"))).toBe(true);
    expect(keys.some((k) => k.startsWith("index/"))).toBe(true);
    expect(result).toEqual({ objects: keys.length, governanceOnly: [] });
    for (const key of keys) {
      expect(await files.retention(key), key).toEqual({ until, mode: RetentionMode.Governance });
    }
    await expect(
      f.vault.ctx.deps.store.delete(keys.find((k) => k.startsWith("packs/"))!),
    ).rejects.toBeInstanceOf(RetainedObjectError);
  });

  it("does nothing, and reads nothing, for a point without retainUntil or with one already past", async () => {
    const p1 = await f.backup("web", seededBytes(1, MIB));
    expect(await retainPointObjects(f.vault.ctx, await point(p1))).toEqual({
      objects: 0,
      governanceOnly: [],
    });
    const past = await setRetainUntil(p1, f.now - 1);
    expect(await retainPointObjects(f.vault.ctx, past)).toEqual({ objects: 0, governanceOnly: [] });
    for (const key of await allKeys()) expect(await files.retention(key), key).toBeUndefined();
  });

  it("gives shared packs the latest date of the points that need them, in whatever order, never shortening", async () => {
    const base = seededBytes(2, MIB);
    const p1 = await f.backup("web", base);
    const p2 = await f.backup("web", mutate(base, 10, 3, 3));
    const objects = await VaultObjects.load(f.vault.ctx);
    const shared = (await objects.of(await point(p1))).filter((k) => k.startsWith("packs/"));
    const own2 = (await objects.of(await point(p2))).filter((k) => k.startsWith("packs/"));
    expect(own2.length).toBeGreaterThan(shared.length); // p2 needs p1's packs and its own new one
    const early = f.now + 10 * DAY;
    const late = f.now + 40 * DAY;
    await retainPointObjects(f.vault.ctx, await setRetainUntil(p2, late));
    await retainPointObjects(f.vault.ctx, await setRetainUntil(p1, early));
    for (const key of shared) expect((await files.retention(key))?.until, key).toBe(late);
    // Retention grows with the point's: extended, never shortened.
    await retainPointObjects(f.vault.ctx, await setRetainUntil(p1, late + DAY));
    for (const key of shared) expect((await files.retention(key))?.until, key).toBe(late + DAY);
  });

  it("retains many points in one pass, each object once, to the latest date that needs it", async () => {
    const base = seededBytes(9, MIB);
    const p1 = await setRetainUntil(await f.backup("web", base), f.now + 5 * DAY);
    const p2 = await setRetainUntil(await f.backup("web", mutate(base, 0, 2, 10)), f.now + 9 * DAY);
    const result = await retainPoints(f.vault.ctx, [p1, p2]);
    const keys = await allKeys();
    expect(result.objects).toBe(keys.length);
    const objects = await VaultObjects.load(f.vault.ctx);
    const ofP2 = new Set(await objects.of(p2));
    for (const key of keys) {
      expect((await files.retention(key))?.until, key).toBe(ofP2.has(key) ? p2.retainUntil : p1.retainUntil);
    }
  });

  it("retains everything in compliance mode once the vault is locked (retainAllPoints)", async () => {
    const p1 = await f.backup("web", seededBytes(4, MIB));
    const until = f.now + 30 * DAY;
    await retainPointObjects(f.vault.ctx, await setRetainUntil(p1, until));
    const { catalog } = f.vault.ctx.deps;
    const vaultId = f.vault.ctx.config.vaultId;
    const settings = await catalog.getSettings(vaultId);
    await catalog.putSettings(
      { ...settings, lock: LockState.Locked, version: settings.version + 1 },
      settings.version,
    );
    const result = await retainAllPoints(f.vault.ctx);
    expect(result.objects).toBe((await allKeys()).length);
    for (const key of await allKeys()) {
      expect(await files.retention(key), key).toEqual({ until, mode: RetentionMode.Compliance });
    }
  });
});

describe("garbage collection and reclaim under retention", () => {
  it("keeps a purged point's retained packs condemned, deletes nothing retained, and finishes once it ends", async () => {
    const one = seededBytes(5, MIB);
    const two = seededBytes(6, MIB);
    const p1 = await f.backup("web", one);
    const packsOfP1 = await f.packs();
    const p2 = await f.backup("web", two);
    const until = f.now + 20 * DAY;
    await retainPointObjects(f.vault.ctx, await setRetainUntil(p1, until));
    await f.purge(p1); // soft delete period (15 days) passes: still inside the retention

    const first = await f.vault.collectGarbage();
    expect(first.pointsReleased).toEqual([p1]);
    expect(first.packsDeleted).toEqual([]);
    expect(first.packsRetained.sort()).toEqual(packsOfP1);
    for (const id of packsOfP1) expect(await f.packExists(id), id).toBe(true);
    // Still condemned: no backup may deduplicate against them, and p2 restores and checks clean.
    expect(sha256(await restoreBytes(f.vault, p2, f.root))).toBe(sha256(two));
    const p3 = await f.backup("web", one);
    expect(sha256(await restoreBytes(f.vault, p3, f.root))).toBe(sha256(one));
    expect((await f.vault.check({ readData: true })).ok).toBe(true);

    // The next run, still inside the retention, changes nothing and does not fail.
    expect((await f.vault.collectGarbage()).packsRetained.sort()).toEqual(packsOfP1);
    f.now = until + 1;
    const last = await f.vault.collectGarbage();
    expect(last.packsDeleted.sort()).toEqual(packsOfP1);
    expect(last.packsRetained).toEqual([]);
    for (const id of packsOfP1) expect(await f.packExists(id), id).toBe(false);
    expect((await f.vault.check({ readData: true })).ok).toBe(true);
  });

  it("lets reclaim skip retained orphan manifests without failing, and take them once retention ends", async () => {
    const p1 = await f.backup("web", seededBytes(7, MIB));
    await f.backup("web", seededBytes(8, MIB));
    const until = f.now + 20 * DAY;
    await retainPointObjects(f.vault.ctx, await setRetainUntil(p1, until));
    const manifestsOfP1 = (
      await VaultObjects.load(f.vault.ctx).then(async (o) => o.of(await point(p1)))
    ).filter((k) => k.startsWith("manifests/"));
    await f.purge(p1);
    await f.vault.collectGarbage();
    const first = await f.vault.reclaim({ graceMs: 0 });
    expect(first.retained).toEqual(manifestsOfP1.sort());
    expect(first.manifests).toEqual([]);
    f.now = until + 1;
    const second = await f.vault.reclaim({ graceMs: 0 });
    expect(second.retained).toEqual([]);
    expect(second.manifests.length).toBe(manifestsOfP1.length);
    expect(await listIds(files, "manifests/")).not.toContain(manifestsOfP1[0]?.split("/").at(-1));
  });
});

import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { initLocalVault } from "../../lib/compose/local.ts";
import { manifestKey, packKey } from "../../lib/engine/store/layout.ts";
import { ConflictError } from "../../lib/errors.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes, seededText } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile, restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";
// Reclaim never deletes what is younger than the liveness window; a short one keeps this quick.
const WINDOW_MS = 500;
process.env.BLOCKVAULT_LIVENESS_WINDOW_MS = String(WINDOW_MS);

let root: string;
let vault: Vault;
let image: Buffer;
let pointId: string;

async function listKeys(prefix: string): Promise<string[]> {
  const found: string[] = [];
  for await (const info of vault.ctx.deps.store.list(prefix)) found.push(info.key);
  return found.sort();
}

beforeEach(async () => {
  root = await tempDir("maint");
  vault = await initLocalVault(join(root, "vault"), { name: "maint", blockSize: 4096 });
  image = Buffer.concat([seededBytes(1, 40_000), Buffer.alloc(20_000), seededText(2, 30_001)]);
  await writeFile(join(root, "disk.img"), image);
  pointId = (await backupFile(vault, join(root, "disk.img"), "d")).recoveryPointId;
});

afterEach(async () => {
  await vault.close();
  await removeDir(root);
});

describe("check", () => {
  it("finds a healthy vault healthy, with and without reading the data", async () => {
    const quick = await vault.check();
    expect(quick).toMatchObject({
      ok: true,
      points: 1,
      missingPacks: [],
      brokenPoints: [],
      unindexedBlocks: 0,
    });
    const full = await vault.check({ readData: true });
    expect(full.ok).toBe(true);
    expect(full.blobsVerified).toBe(full.indexedBlocks);
    expect(full.blobsVerified).toBeGreaterThan(0);
  });

  it("reports a missing pack and a missing manifest", async () => {
    const [pack] = await listKeys("packs/");
    await rm(join(root, "vault", "objects", pack!));
    const report = await vault.check();
    expect(report.ok).toBe(false);
    expect(report.missingPacks).toHaveLength(1);
    const point = await vault.getPoint(pointId);
    await rm(join(root, "vault", "objects", manifestKey(point.manifest)));
    const again = await vault.check();
    expect(again.brokenPoints).toEqual([{ id: pointId, error: expect.stringMatching(/missing/) }]);
  });

  it("with readData, reports a pack whose bytes were altered", async () => {
    const [pack] = await listKeys("packs/");
    const file = join(root, "vault", "objects", pack!);
    const bytes = await vault.ctx.deps.store.get(pack!);
    bytes[3]! ^= 0x40;
    await rm(file);
    await writeFile(file, bytes);
    expect((await vault.check()).ok).toBe(true); // structure intact: only reading the data tells
    const report = await vault.check({ readData: true });
    expect(report.ok).toBe(false);
    expect(report.badBlobs).toEqual([
      { pack: pack!.split("/").pop(), error: expect.stringMatching(/authentication failed/) },
    ]);
  });
});

describe("reclaim", () => {
  async function leaveOrphans(): Promise<{ pack: string; manifest: string }> {
    const pack = "ab".repeat(32);
    const manifest = "c".repeat(64);
    await vault.ctx.deps.store.put(packKey(pack), Buffer.from("an interrupted backup's pack"));
    await vault.ctx.deps.store.put(manifestKey(manifest), Buffer.from("an interrupted backup's manifest"));
    return { pack, manifest };
  }

  it("deletes unreferenced packs and manifests past the grace period, and nothing else", async () => {
    const before = [
      ...(await listKeys("packs/")),
      ...(await listKeys("manifests/")),
      ...(await listKeys("index/")),
    ];
    const orphans = await leaveOrphans();
    await sleep(WINDOW_MS + 100);
    expect((await vault.check()).orphanPacks).toEqual([orphans.pack]);
    const dry = await vault.reclaim({ graceMs: 0, dryRun: true });
    expect(dry).toMatchObject({ packs: [orphans.pack], manifests: [orphans.manifest], dryRun: true });
    expect(await listKeys("packs/")).toContain(packKey(orphans.pack));
    const done = await vault.reclaim({ graceMs: 0 });
    expect(done.bytes).toBeGreaterThan(0);
    const after = [
      ...(await listKeys("packs/")),
      ...(await listKeys("manifests/")),
      ...(await listKeys("index/")),
    ];
    expect(after).toEqual(before);
    expect((await restoreBytes(vault, pointId, root)).equals(image)).toBe(true);
  });

  it("keeps young orphans: a running backup's objects are protected by the grace period", async () => {
    const orphans = await leaveOrphans();
    const result = await vault.reclaim();
    expect(result.packs).toEqual([]);
    expect(await listKeys("packs/")).toContain(packKey(orphans.pack));
  });

  it("refuses while a backup job is running, whatever the grace, and ends a dead one as abandoned", async () => {
    await leaveOrphans();
    const now = vault.ctx.deps.clock.now();
    const job = { vaultId: vault.id, type: "backup", status: "running", disk: "d" } as const;
    const counters = { bytesScanned: 0, bytesChanged: 0, bytesStored: 0, attempts: 1 };
    await vault.ctx.deps.catalog.createJob({ id: "live", started: now, heartbeat: now, ...job, ...counters });
    await expect(vault.reclaim({ graceMs: 0 })).rejects.toThrow(ConflictError);
    await expect(vault.reclaim({ graceMs: 60_000 })).rejects.toThrow(/backup job live is running/);
    // Its process stops sending heartbeats: a window later it is dead, not running.
    await vault.ctx.deps.catalog.updateJob(vault.id, "live", { heartbeat: now - 61_000 });
    await expect(vault.reclaim({ graceMs: 60_000 })).resolves.toMatchObject({ dryRun: false });
    expect(await vault.ctx.deps.catalog.getJob(vault.id, "live")).toMatchObject({
      status: "abandoned",
      error: expect.stringMatching(/no heartbeat/),
    });
  });

  it("keeps objects younger than the liveness window even with no grace", async () => {
    const orphans = await leaveOrphans();
    const result = await vault.reclaim({ graceMs: 0 });
    expect(result.packs).toEqual([]);
    expect(await listKeys("packs/")).toContain(packKey(orphans.pack));
  });
});

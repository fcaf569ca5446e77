import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { initLocalVault, openLocalVault } from "../../lib/compose/local.ts";
import { ConflictError } from "../../lib/errors.ts";
import type { LocalFiles } from "../../lib/ports/local-files.ts";
import type { ObjectStore } from "../../lib/ports/object-store.ts";
import { overriding } from "../../lib/util/overriding.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile, restoreBytes } from "../helpers/vault-ops.ts";

// A short window, so that a floor tied to it cannot be what protects the backup: the objects
// reclaim looks at are older than the window when it runs.
const WINDOW_MS = 300;
process.env.BLOCKVAULT_LIVENESS_WINDOW_MS = String(WINDOW_MS);
process.env.BLOCKVAULT_WORKERS = "1";

let root: string;
let backupSide: Vault;
let reclaimSide: Vault;
let imagePath: string;
let image: Buffer;

/**
 * Replaces a vault's object store, and its staging areas, by ones whose puts and deletes `hook`
 * may delay or act on; every other member stays the inner one's.
 */
function interpose(vault: Vault, hook: (call: "put" | "delete", key: string) => Promise<void>): void {
  const deps = vault.ctx.deps as { store: ObjectStore; localFiles?: LocalFiles };
  const inner = deps.store;
  deps.store = overriding(inner, {
    put: async (key, data) => {
      try {
        await inner.put(key, data);
      } finally {
        await hook("put", key);
      }
    },
    delete: async (key) => {
      await hook("delete", key);
      await inner.delete(key);
    },
  });
  const files = deps.localFiles?.objects;
  if (!deps.localFiles || !files) return;
  const staging = async () => {
    const area = await files.stage();
    return (
      area &&
      overriding(area, {
        put: async (key: string, name: string) => {
          await area.put(key, name);
          await hook("put", key);
        },
      })
    );
  };
  deps.localFiles = { ...deps.localFiles, objects: overriding(files, { stage: staging }) };
}

/** Every listed point restores to `expected`, and the vault checks clean with its data read. */
async function expectIntact(vault: Vault, expected: Buffer): Promise<void> {
  const report = await vault.check({ readData: true });
  expect(report).toMatchObject({ ok: true, missingPacks: [], brokenPoints: [] });
  for (const point of await vault.listPoints()) {
    expect((await restoreBytes(vault, point.id, root)).equals(expected)).toBe(true);
  }
}

beforeEach(async () => {
  root = await tempDir("reclaim-race");
  const dir = join(root, "vault");
  // 4 KiB blocks and 1 MiB of random data: one pack, stored before any index names it.
  backupSide = await initLocalVault(dir, { name: "race", blockSize: 4096 });
  reclaimSide = await openLocalVault(dir);
  image = seededBytes(7, 1 << 20);
  imagePath = join(root, "disk.img");
  await writeFile(imagePath, image);
});

afterEach(async () => {
  await backupSide.close();
  await reclaimSide.close();
  await removeDir(root);
});

describe("reclaim --grace-hours 0 while a backup runs", () => {
  it("never deletes the packs of a running backup: the backup's point restores", async () => {
    let reclaimed: unknown;
    interpose(backupSide, async (call, key) => {
      if (call !== "put" || !key.startsWith("packs/") || reclaimed !== undefined) return;
      // The pack is stored and not yet indexed, and older than the window when reclaim looks.
      await sleep(WINDOW_MS * 2);
      reclaimed = await reclaimSide.reclaim({ graceMs: 0 }).catch((err: unknown) => err);
    });
    const result = await backupFile(backupSide, imagePath, "d");
    expect(result.recoveryPointId).toBeTruthy();
    await expectIntact(backupSide, image);
    expect(reclaimed).toBeInstanceOf(ConflictError);
    expect(String((reclaimed as Error).message)).toMatch(/is running/);
  });

  it("a reclaim that began before the backup cannot delete a manifest the backup reuses by name", async () => {
    // A failed backup of the same image leaves its manifests behind, unreachable.
    const catalog = backupSide.ctx.deps.catalog;
    const commit = catalog.commitRecoveryPoint.bind(catalog);
    catalog.commitRecoveryPoint = async () => {
      throw new Error("the commit of the earlier attempt is lost");
    };
    await expect(backupFile(backupSide, imagePath, "d")).rejects.toThrow(/earlier attempt/);
    catalog.commitRecoveryPoint = commit;
    await sleep(WINDOW_MS * 2);
    expect((await backupSide.check()).orphanManifests.length).toBeGreaterThan(1);

    let manifestsNamed!: () => void;
    const named = new Promise<void>((resolve) => {
      manifestsNamed = resolve;
    });
    interpose(backupSide, async (call, key) => {
      if (call === "put" && key.startsWith("manifests/")) manifestsNamed();
    });
    let backup: Promise<unknown> | undefined;
    interpose(reclaimSide, async (call) => {
      if (call !== "delete" || backup) return;
      // Reclaim has found no backup running and listed the orphans; now one starts and names
      // the same manifests again before reclaim deletes them.
      backup = backupFile(backupSide, imagePath, "d");
      backup.catch(() => undefined);
      await named;
      await sleep(50);
    });
    const reclaimed = await reclaimSide.reclaim({ graceMs: 0 });
    expect(reclaimed.manifests.length).toBeGreaterThan(1);
    await expect(backup).resolves.toMatchObject({ disk: "d" });
    await expectIntact(backupSide, image);
  });
});

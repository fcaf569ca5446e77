import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { initLocalVault } from "../../lib/compose/local.ts";
import { packKey } from "../../lib/engine/store/layout.ts";
import type { ObjectStore } from "../../lib/ports/object-store.ts";
import { purgeExpired } from "../../lib/rules/soft-delete.ts";
import type { Vault } from "../../lib/vault.ts";
import { removeDir, tempDir } from "./temp-dir.ts";
import { backupFile } from "./vault-ops.ts";

export const DAY = 24 * 60 * 60 * 1000;

/** An embedded vault with a settable clock, and helpers to back up images and purge points. */
export class GcFixture {
  /** Starts at the real time: reclaim compares it with the files' real modification times. */
  now = Date.now();
  root = "";
  vault!: Vault;
  private images = 0;

  async setUp(name = "gc"): Promise<void> {
    this.root = await tempDir(name);
    this.vault = await initLocalVault(
      join(this.root, "vault"),
      { name, blockSize: 4096 },
      { clock: { now: () => this.now } },
    );
  }

  async tearDown(): Promise<void> {
    await this.vault.close();
    await removeDir(this.root);
  }

  /** Backs up `bytes` as a new point of `disk`; returns the point id. */
  async backup(disk: string, bytes: Buffer): Promise<string> {
    const path = join(this.root, `image-${this.images++}.img`);
    await writeFile(path, bytes);
    this.now += 60_000;
    return (await backupFile(this.vault, path, disk)).recoveryPointId;
  }

  /** Soft-deletes the points, lets their soft-delete period pass, and purges them. */
  async purge(...ids: string[]): Promise<void> {
    for (const id of ids) await this.vault.deletePoint(id);
    this.now += 15 * DAY;
    await purgeExpired(this.vault.ctx);
  }

  /** Ids of the packs in the store. */
  async packs(): Promise<string[]> {
    return listIds(this.vault.ctx.deps.store, "packs/");
  }

  async packExists(id: string): Promise<boolean> {
    return this.vault.ctx.deps.store.head(packKey(id)).then(
      () => true,
      () => false,
    );
  }
}

/** The ids (last key segment) of every object under `prefix`, sorted. */
export async function listIds(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key.slice(info.key.lastIndexOf("/") + 1));
  return out.sort();
}

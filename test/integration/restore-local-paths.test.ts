import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openFileTarget } from "../../lib/adapters/local/targets/file-target.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "2";

let root: string;
let vault: Vault;
beforeEach(async () => {
  root = await tempDir("restore-paths");
  vault = await initLocalVault(join(root, "vault"), { name: "paths", blockSize: 4096 });
});
afterEach(async () => {
  await vault.close();
  await removeDir(root);
});

describe("a restore from a store with local files", () => {
  it("asks where each pack lives once, however many reads the pack takes", async () => {
    const image = seededBytes(5, 20 * 1024 * 1024);
    const imagePath = join(root, "disk.img");
    await writeFile(imagePath, image);
    const { recoveryPointId } = await backupFile(vault, imagePath, "d");
    const store = vault.ctx.deps.store;
    const localPath = store.localPath!.bind(store);
    const asked = new Map<string, number>();
    store.localPath = async (key) => {
      asked.set(key, (asked.get(key) ?? 0) + 1);
      return localPath(key);
    };
    let packs = 0;
    for await (const _ of store.list("packs/")) packs++;
    const out = join(root, "restored.img");
    await vault.restore(recoveryPointId, await openFileTarget(out, image.length));
    expect(sha256(await readFile(out))).toBe(sha256(image));
    // 20 MiB of random blocks fill more than one pack, each read in several ranges.
    expect(packs).toBeGreaterThan(1);
    expect(asked.size).toBe(packs);
    expect([...asked.values()].every((n) => n === 1)).toBe(true);
  });
});

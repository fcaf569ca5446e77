import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { openFileTarget } from "../../lib/adapters/local/targets/file-target.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import type { LocalObjectFiles } from "../../lib/ports/local-files.ts";
import { overriding } from "../../lib/util/overriding.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "2";

let root: string;
let vault: Vault;
let image: Buffer;
let imagePath: string;

beforeEach(async () => {
  root = await tempDir("fast-paths");
  vault = await initLocalVault(join(root, "vault"), { name: "paths", blockSize: 4096 });
  // 20 MiB of random blocks fill more than one pack, each read in several ranges.
  image = seededBytes(5, 20 * 1024 * 1024);
  imagePath = join(root, "disk.img");
  await writeFile(imagePath, image);
});
afterEach(async () => {
  await vault.close();
  await removeDir(root);
});

/** The embedded vault's store files (the local files capability the composition root gave it). */
function objectFiles(): LocalObjectFiles {
  const files = vault.ctx.deps.localFiles?.objects;
  if (!files) throw new Error("the embedded vault was opened without its store's local files");
  return files;
}

/** Replaces the vault's store files by `files`. */
function useObjectFiles(files: LocalObjectFiles): void {
  const deps = vault.ctx.deps as { localFiles: { objects: LocalObjectFiles } };
  deps.localFiles = { ...deps.localFiles, objects: files };
}

async function packCount(): Promise<number> {
  let packs = 0;
  for await (const _ of vault.ctx.deps.store.list("packs/")) packs++;
  return packs;
}

describe("the embedded vault's fast local paths", () => {
  it("a backup of a local image is read by the workers and its packs are stored from a staging area", async () => {
    const files = objectFiles();
    const staged: string[] = [];
    useObjectFiles(
      overriding(files, {
        stage: async () => {
          const area = await files.stage();
          return (
            area &&
            overriding(area, {
              put: async (key, name) => {
                staged.push(key);
                await area.put(key, name);
              },
            })
          );
        },
      }),
    );
    const source = await openFileSource(imagePath);
    let mainThreadReads = 0;
    const counted = overriding(source, {
      read: (offset, length, into) => {
        mainThreadReads++;
        return source.read(offset, length, into);
      },
    });
    await vault.backup(counted, { disk: "d" });
    await source.close();
    expect(mainThreadReads).toBe(0);
    const packs = await packCount();
    expect(packs).toBeGreaterThan(1);
    expect(staged).toHaveLength(packs);
  });

  it("a restore to a file reads each pack's file, asked once per pack, and the workers write the file", async () => {
    const { recoveryPointId } = await backupFile(vault, imagePath, "d");
    const files = objectFiles();
    const asked = new Map<string, number>();
    useObjectFiles(
      overriding(files, {
        localPath: async (key) => {
          asked.set(key, (asked.get(key) ?? 0) + 1);
          return files.localPath(key);
        },
      }),
    );
    const out = join(root, "restored.img");
    const target = await openFileTarget(out, image.length);
    let mainThreadWrites = 0;
    const counted = overriding(target, {
      write: (offset, data) => {
        mainThreadWrites++;
        return target.write(offset, data);
      },
    });
    await vault.restore(recoveryPointId, counted);
    expect(sha256(await readFile(out))).toBe(sha256(image));
    expect(mainThreadWrites).toBe(0);
    expect(asked.size).toBe(await packCount());
    expect([...asked.values()].every((n) => n === 1)).toBe(true);
  });
});

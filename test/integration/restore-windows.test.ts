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

const BLOCK = 4096;
/** The restore plans 2048 blocks at a time: 8 MiB of 4 KiB blocks. */
const WINDOW_BYTES = 2048 * BLOCK;

let root: string;
let vault: Vault;
beforeEach(async () => {
  root = await tempDir("restore-windows");
  vault = await initLocalVault(join(root, "vault"), { name: "windows", blockSize: BLOCK });
});
afterEach(async () => {
  await vault.close();
  await removeDir(root);
});

/** 20 MiB: unique blocks, holes, and one 64 KiB pattern repeated in every window. */
function image(): Buffer {
  const bytes = seededBytes(11, 20 * 1024 * 1024);
  const pattern = seededBytes(12, 64 * 1024);
  for (let at = 1024 * 1024; at < bytes.length; at += 3 * 1024 * 1024) pattern.copy(bytes, at);
  bytes.fill(0, 5 * 1024 * 1024, 6 * 1024 * 1024);
  bytes.fill(0, WINDOW_BYTES - BLOCK, WINDOW_BYTES + BLOCK);
  return bytes;
}

describe("a restore larger than one planning window", () => {
  it("restores every window, holes and blocks repeated across windows included", async () => {
    const bytes = image();
    await writeFile(join(root, "disk.img"), bytes);
    const { recoveryPointId } = await backupFile(vault, join(root, "disk.img"), "d");
    const out = join(root, "whole.img");
    const result = await vault.restore(recoveryPointId, await openFileTarget(out, bytes.length));
    expect(sha256(await readFile(out))).toBe(sha256(bytes));
    expect(result.bytesRestored).toBe(bytes.length);
  });

  it("restores a byte range that starts and ends mid-block in different windows", async () => {
    const bytes = image();
    await writeFile(join(root, "disk.img"), bytes);
    const { recoveryPointId } = await backupFile(vault, join(root, "disk.img"), "d");
    const range = { offset: WINDOW_BYTES - 3 * BLOCK - 123, length: WINDOW_BYTES + 5 * BLOCK + 456 };
    const out = join(root, "range.img");
    await vault.restore(recoveryPointId, await openFileTarget(out, range.length), { range });
    expect((await readFile(out)).equals(bytes.subarray(range.offset, range.offset + range.length))).toBe(
      true,
    );
  });
});

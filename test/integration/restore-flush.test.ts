import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openFileTarget } from "../../lib/adapters/local/targets/file-target.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import type { RestoreTarget } from "../../lib/ports/restore-target.ts";
import { overriding } from "../../lib/util/overriding.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "2";

let root: string;
let vault: Vault;
beforeEach(async () => {
  root = await tempDir("restore-flush");
  vault = await initLocalVault(join(root, "vault"), { name: "flush", blockSize: 4096 });
});
afterEach(async () => {
  await vault.close();
  await removeDir(root);
});

describe("a restore into a target that can flush", () => {
  it("flushes in the background as it goes, one flush at a time, and still commits the exact image", async () => {
    const image = seededBytes(3, 24 * 1024 * 1024);
    const imagePath = join(root, "disk.img");
    await writeFile(imagePath, image);
    const { recoveryPointId } = await backupFile(vault, imagePath, "d");
    const out = join(root, "restored.img");
    const inner = await openFileTarget(out, image.length);
    let flushes = 0;
    let running = 0;
    let overlapped = false;
    const target: RestoreTarget = overriding(inner, {
      async flush() {
        running++;
        if (running > 1) overlapped = true;
        flushes++;
        await new Promise((r) => setTimeout(r, 5));
        await inner.flush!();
        running--;
      },
    });
    await vault.restore(recoveryPointId, target, { flushEveryBytes: 256 * 1024 });
    expect(flushes).toBeGreaterThan(1);
    expect(overlapped).toBe(false);
    expect(sha256(await readFile(out))).toBe(sha256(image));
  });
});

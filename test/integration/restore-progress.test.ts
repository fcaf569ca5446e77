import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { initLocalVault } from "../../lib/adapters/local/local-vault.ts";
import { openFileTarget } from "../../lib/adapters/local/targets/file-target.ts";
import type { RestoreTarget } from "../../lib/ports/restore-target.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile } from "../helpers/vault-ops.ts";

// Two workers: the restore runs three reads at once, so their completions interleave.
process.env.BLOCKVAULT_WORKERS = "2";

const SIZE = 24 * 1024 * 1024;

let root: string;
let vault: Vault;
let pointId: string;
beforeEach(async () => {
  root = await tempDir("restore-progress");
  vault = await initLocalVault(join(root, "vault"), { name: "progress", blockSize: 4096 });
  const imagePath = join(root, "disk.img");
  await writeFile(imagePath, seededBytes(5, SIZE));
  ({ recoveryPointId: pointId } = await backupFile(vault, imagePath, "d"));
});
afterEach(async () => {
  await vault.close();
  await removeDir(root);
});

describe("restore progress over concurrent reads", () => {
  it("only moves forward and ends at the full size", async () => {
    const seen: [number, number][] = [];
    await vault.restoreToFile(pointId, join(root, "out.img"), {
      onProgress: (done, total) => seen.push([done, total]),
    });
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.every(([, total]) => total === SIZE)).toBe(true);
    const dones = seen.map(([done]) => done);
    for (let i = 1; i < dones.length; i++) expect(dones[i]!, `update ${i}`).toBeGreaterThan(dones[i - 1]!);
    expect(dones.at(-1)).toBe(SIZE);
  });

  it("flushes every flushEveryBytes of what was really written", async () => {
    const inner = await openFileTarget(join(root, "flushed.img"), SIZE);
    const flushedAt: number[] = [];
    let latest = 0;
    const target: RestoreTarget = {
      description: inner.description,
      ...(inner.fd !== undefined ? { fd: inner.fd } : {}),
      write: (offset, data) => inner.write(offset, data),
      // Returns at once, so no flush is skipped for one still running.
      flush: async () => {
        flushedAt.push(latest);
      },
      commit: () => inner.commit(),
      abort: () => inner.abort(),
    };
    const every = SIZE / 4;
    await vault.restore(pointId, target, {
      flushEveryBytes: every,
      onProgress: (done) => {
        latest = done;
      },
    });
    // At 6, 12 and 18 MiB written (and perhaps at 24), never two within `every` of each other.
    expect(flushedAt.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < flushedAt.length; i++)
      expect(flushedAt[i]! - flushedAt[i - 1]!).toBeGreaterThanOrEqual(every);
  });
});

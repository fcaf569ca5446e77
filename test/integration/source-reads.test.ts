import { readdir, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import { SourceError } from "../../lib/errors.ts";
import { localFileOf } from "../../lib/ports/local-files.ts";
import type { VolumeSource } from "../../lib/ports/volume-source.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes, seededText } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "2";

let root: string;
let vault: Vault;
let path: string;
let image: Buffer;

beforeEach(async () => {
  root = await tempDir("source-reads");
  vault = await initLocalVault(join(root, "vault"), { name: "reads", blockSize: 4096 });
  // Several 64-block segments, so both workers read parts of the file.
  image = Buffer.concat([seededBytes(1, 700_000), Buffer.alloc(300_000), seededText(2, 500_001)]);
  path = join(root, "disk.img");
  await writeFile(path, image);
});

afterEach(async () => {
  await vault.close();
  await removeDir(root);
});

/** The same image through the engine's own reads: a source that offers no local file. */
function withoutLocalFile(source: VolumeSource): VolumeSource {
  return {
    description: source.description,
    size: source.size,
    format: source.format,
    read: (offset, length, into) => source.read(offset, length, into),
    close: () => source.close(),
  };
}

describe("sources read by the worker threads", () => {
  it("a local image is read by the workers, and gives the same blocks as reading it on the main thread", async () => {
    const source = await openFileSource(path);
    expect(localFileOf(source)?.fd).toBeTypeOf("number");
    const direct = await vault.backup(source, { disk: "direct" });
    await source.close();
    const other = await openFileSource(path);
    const relayed = await vault.backup(withoutLocalFile(other), { disk: "relayed" });
    await other.close();
    // Every block the second way computed was already stored by the first: the same IDs.
    expect(relayed.blocksNew).toBe(0);
    expect(relayed.bytesChanged).toBe(direct.bytesChanged);
    expect(await restoreBytes(vault, direct.recoveryPointId, root)).toEqual(image);
    expect(await restoreBytes(vault, relayed.recoveryPointId, root)).toEqual(image);
  });

  it("an image that shrinks during the backup is a SourceError naming it, and no point is recorded", async () => {
    const source = await openFileSource(path);
    await truncate(path, 200_000); // after open: the source still believes the old size
    const error = await vault.backup(source, { disk: "shrinking" }).catch((e: unknown) => e);
    await source.close();
    expect(error).toBeInstanceOf(SourceError);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toMatch(/shrank while open/);
    expect(await vault.listPoints("shrinking")).toEqual([]);
    const [job] = await vault.listJobs();
    expect(job?.status).toBe("failed");
    // The vault is fine: the image, written again, backs up and restores.
    await writeFile(path, image);
    const again = await openFileSource(path);
    const ok = await vault.backup(again, { disk: "shrinking" });
    await again.close();
    expect(await restoreBytes(vault, ok.recoveryPointId, root)).toEqual(image);
  });

  it("a read failing late in a backup leaves no pack file open or staged", async () => {
    // 12 MiB of new data: packs are being written when the read at 10 MiB fails.
    await writeFile(path, seededBytes(5, 12 * 1024 * 1024));
    const source = await openFileSource(path);
    const failing: VolumeSource = {
      ...withoutLocalFile(source),
      read: async (offset, length, into) => {
        if (offset >= 10 * 1024 * 1024) throw new SourceError(`${path}: read failed at ${offset}`);
        return source.read(offset, length, into);
      },
    };
    const openFiles = (await readdir("/proc/self/fd")).length;
    const error = await vault.backup(failing, { disk: "late" }).catch((e: unknown) => e);
    await source.close();
    expect(error).toBeInstanceOf(SourceError);
    // The workers had packs half written when the read failed: closed and removed with the backup.
    expect((await readdir("/proc/self/fd")).length).toBeLessThan(openFiles);
    expect(await readdir(join(root, "vault", "objects", ".tmp")).catch(() => [])).toEqual([]);
    expect(await vault.listPoints("late")).toEqual([]);
  });
});

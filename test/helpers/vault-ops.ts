import { randomUUID } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import type { BackupResult } from "../../lib/engine/backup/backup.ts";
import type { ByteRange } from "../../lib/ports/object-store.ts";
import type { Vault } from "../../lib/vault.ts";

/** Backs up the image file at `path` as a new point of `disk`, closing the source afterwards. */
export async function backupFile(vault: Vault, path: string, disk: string): Promise<BackupResult> {
  const source = await openFileSource(path);
  try {
    return await vault.backup(source, { disk });
  } finally {
    await source.close();
  }
}

/**
 * Restores a point (or a byte range of it) into a fresh file in `scratchDir` and returns its
 * bytes; the file is removed afterwards.
 */
export async function restoreBytes(
  vault: Vault,
  pointId: string,
  scratchDir: string,
  range?: ByteRange,
): Promise<Buffer> {
  const path = join(scratchDir, `restore-${randomUUID()}.img`);
  try {
    await vault.restoreToFile(pointId, path, range ? { range } : {});
    return await readFile(path);
  } finally {
    await rm(path, { force: true });
  }
}

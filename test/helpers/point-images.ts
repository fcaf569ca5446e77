import { join } from "node:path";
import { initLocalVault } from "../../lib/compose/local.ts";
import { PointFiles } from "../../lib/files/point-files.ts";
import type { Vault } from "../../lib/vault.ts";
import { backupFile } from "./vault-ops.ts";

/** A fresh embedded vault in `dir` with the default block size. */
export function fileVault(dir: string): Promise<Vault> {
  return initLocalVault(join(dir, "vault"), { name: "files" });
}

/** Backs up `image` into `vault` and opens its files through the point reader. */
export async function backedUpFiles(vault: Vault, image: string, disk = "d1"): Promise<PointFiles> {
  const { recoveryPointId } = await backupFile(vault, image, disk);
  return new PointFiles(await vault.openPointReader(recoveryPointId));
}

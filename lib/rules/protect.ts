import { validateDiskName } from "../engine/backup.ts";
import type { VaultContext } from "../engine/vault-config.ts";
import { NotFoundError } from "../errors.ts";
import type { DiskRecord } from "../model.ts";
import type { VolumeSource } from "../ports/volume-source.ts";
import { getPolicy } from "./policies.ts";

/**
 * Puts a disk under a policy: the scheduler (`run-due`) then backs up `source` at the policy's
 * slots and applies its retention. The source must be readable now, and a disk that already has
 * points must keep its size.
 */
export async function protect(
  ctx: VaultContext,
  source: VolumeSource,
  disk: string,
  policyName: string,
): Promise<DiskRecord> {
  validateDiskName(disk);
  await getPolicy(ctx, policyName);
  const { catalog, clock } = ctx.deps;
  const existing = await catalog.getDisk(ctx.config.vaultId, disk).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  const record: DiskRecord = {
    vaultId: ctx.config.vaultId,
    name: disk,
    created: existing?.created ?? clock.now(),
    size: existing?.size ?? source.size,
    source: source.description,
    policy: policyName,
  };
  await catalog.putDisk(record);
  return record;
}

import {
  Consistency,
  type DiskRecord,
  type JobRecord,
  JobStatus,
  JobType,
  PointState,
  type RecoveryPointRecord,
  Tier,
  type VaultRecord,
} from "../../lib/model.ts";

/**
 * Record builders for the catalog contract: complete, valid records with only optional fields
 * left out, so a test states just what it is about.
 */

/** A vault `v1` unless overridden. */
export function vault(over: Partial<VaultRecord> = {}): VaultRecord {
  return { id: "v1", name: "main", created: 1_700_000_000_000, blockSize: 1 << 20, ...over };
}

/** Disk `d1` of vault `v1` unless overridden; no policy. */
export function disk(over: Partial<DiskRecord> = {}): DiskRecord {
  return {
    vaultId: "v1",
    name: "d1",
    created: 1_700_000_000_000,
    size: 8 << 30,
    source: "/dev/vdb",
    ...over,
  };
}

/** An available full-backup point of disk `d1` in vault `v1`; no sourceRef, no deleteAfter. */
export function point(id: string, over: Partial<RecoveryPointRecord> = {}): RecoveryPointRecord {
  return {
    id,
    vaultId: "v1",
    disk: "d1",
    created: 1_700_000_100_000,
    parent: null,
    consistency: Consistency.Crash,
    logicalSize: 8 << 30,
    bytesStored: 123_456,
    manifest: `manifest-${id}`,
    tier: Tier.Vault,
    state: PointState.Available,
    ...over,
  };
}

/** A running backup job of vault `v1`; no disk, recovery point, end, error or detail. */
export function job(id: string, over: Partial<JobRecord> = {}): JobRecord {
  return {
    id,
    vaultId: "v1",
    type: JobType.Backup,
    status: JobStatus.Running,
    started: 1_700_000_200_000,
    bytesScanned: 0,
    bytesChanged: 0,
    bytesStored: 0,
    attempts: 1,
    ...over,
  };
}

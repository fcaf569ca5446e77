import type { BackupResult } from "../engine/backup/backup.ts";
import { copyRef, pointSource } from "../engine/copy/point-source.ts";
import { loadPointManifest } from "../engine/read/point-reader.ts";
import { ValidationError } from "../errors.ts";
import type { Vault } from "../vault.ts";
import { retainForDays } from "./copy-retention.ts";

/** Options of {@link copyPoint}. */
export interface CopyOptions {
  /** The disk the copy is a point of in the destination (default: the source point's disk). */
  readonly disk?: string;
  /**
   * Days the copy is kept in the destination: committed as its retention end there (a floor the
   * destination's lock only lets grow), after which the destination's retention soft-deletes it
   * unless a policy of its own disk keeps it longer. Without it the copy is kept until deleted.
   */
  readonly retainDays?: number;
  readonly onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

/** What a copy did. */
export interface CopyResult extends Omit<BackupResult, "recoveryPointId"> {
  readonly sourceVault: string;
  readonly sourcePointId: string;
  readonly destinationVault: string;
  /** The copy: a point of the destination vault. */
  readonly recoveryPointId: string;
  /** Bytes of the source's packs fetched to make the copy. */
  readonly bytesFetched: number;
}

/**
 * Copies a recovery point of `source` into `destination` as a point of its own: a backup of the
 * point's bytes, read verified from the source, stored deduplicated against the destination's own
 * index and encrypted under the destination's keys, then kept by the destination's own retention,
 * lock and soft delete. Holes are not read, and against an earlier copy of the same source only
 * the blocks that differ are (see engine/copy/point-source.ts). The copy records its origin as its
 * `sourceRef` and on its job; the source's audit log records the copy (`point.copy`).
 */
export async function copyPoint(
  source: Vault,
  pointId: string,
  destination: Vault,
  options: CopyOptions = {},
): Promise<CopyResult> {
  if (source.id === destination.id)
    throw new ValidationError(`cannot copy recovery point ${pointId} into the vault it is in`);
  const point = await source.getPoint(pointId);
  const reader = await source.openPointReader(pointId);
  const volume = pointSource(reader, {
    vaultId: source.id,
    vaultName: source.name,
    earlierMap: (id) => earlierMap(source, id),
  });
  try {
    const result = await destination.backup(volume, {
      disk: options.disk ?? point.disk,
      consistency: point.consistency,
      jobDetail: { copyOf: copyRef(source.id, pointId) },
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    if (options.retainDays !== undefined) {
      await retainForDays(destination.ctx, result.recoveryPointId, options.retainDays);
    }
    return {
      ...result,
      sourceVault: source.id,
      sourcePointId: pointId,
      destinationVault: destination.id,
      bytesFetched: reader.stats.bytesFetched,
    };
  } finally {
    await volume.close();
  }
}

/**
 * The block map of an earlier point of the source (its manifest only: no index, no pack is read);
 * none when it is gone or cannot be read.
 */
async function earlierMap(source: Vault, pointId: string) {
  const point = await source.getPoint(pointId).catch(() => undefined);
  const manifest = point && (await loadPointManifest(source.ctx, point).catch(() => undefined));
  return (
    manifest && {
      blockMap: manifest.ids,
      blockSize: manifest.root.blockSize,
      size: manifest.root.logicalSize,
    }
  );
}

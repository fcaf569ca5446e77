import type { ChangedRange, VolumeRange, VolumeSource } from "../../ports/volume-source.ts";
import { dataRanges, rangesChangedSince } from "../read/block-ranges.ts";
import type { PointReader } from "../read/point-reader.ts";

/** Prefix of the `sourceRef` a copied point carries: `blockvault-copy:<vault id>/<point id>`. */
export const COPY_REF_PREFIX = "blockvault-copy:";

/** The `sourceRef` of a copy of `pointId` from vault `vaultId`. */
export function copyRef(vaultId: string, pointId: string): string {
  return `${COPY_REF_PREFIX}${vaultId}/${pointId}`;
}

/** The vault and point a copy's `sourceRef` names, or undefined when it is not a copy's. */
export function parseCopyRef(ref: string): { vaultId: string; pointId: string } | undefined {
  if (!ref.startsWith(COPY_REF_PREFIX)) return undefined;
  const [vaultId, pointId, ...rest] = ref.slice(COPY_REF_PREFIX.length).split("/");
  return vaultId && pointId && rest.length === 0 ? { vaultId, pointId } : undefined;
}

/** Where a copy reads from: the source vault's id, and its points' block maps by id. */
export interface CopyOrigin {
  readonly vaultId: string;
  readonly vaultName: string;
  /** The block map of an earlier point of the source vault, or undefined when it cannot be had. */
  earlierMap(pointId: string): Promise<Pick<PointReader, "blockMap" | "blockSize" | "size"> | undefined>;
}

/**
 * A recovery point of another vault as a volume to back up: the copy of a point is a backup of
 * its bytes into the destination, which deduplicates against its own index and encrypts under
 * its own keys. Holes are not read (`allocatedRanges`); against a destination point copied from
 * an earlier point of the same source, only the blocks that differ are (`changedRanges`).
 */
export function pointSource(reader: PointReader, origin: CopyOrigin): VolumeSource {
  return {
    description: `recovery point ${reader.pointId} of vault ${origin.vaultName}`,
    size: reader.size,
    format: "blockvault-point",
    sourceRef: copyRef(origin.vaultId, reader.pointId),
    read: async (offset, length, into) => {
      const bytes = await reader.read(offset, Math.max(0, Math.min(length, reader.size - offset)));
      if (!into) return bytes;
      bytes.copy(into);
      return into.subarray(0, bytes.length);
    },
    allocatedRanges: async (): Promise<readonly VolumeRange[]> => dataRanges(reader),
    changedRanges: async (parentRef): Promise<ChangedRange[] | undefined> => {
      const earlier = parseCopyRef(parentRef);
      if (earlier?.vaultId !== origin.vaultId) return undefined;
      const map = await origin.earlierMap(earlier.pointId);
      return map ? rangesChangedSince(reader, map) : undefined;
    },
    close: async () => reader.close(),
  };
}

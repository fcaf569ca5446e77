import type { VolumeRange } from "../../ports/volume-source.ts";
import { HOLE_ID } from "../points/manifest.ts";
import { BLOCK_ID_BYTES } from "../store/layout.ts";
import type { PointReader } from "./point-reader.ts";

type MapOf = Pick<PointReader, "blockMap" | "blockSize" | "size">;

/** The byte ranges of `point` that hold data (every block but the holes), merged into runs. */
export function dataRanges(point: MapOf): VolumeRange[] {
  return runsOf(point, (id) => !id.equals(HOLE_ID));
}

/**
 * The byte ranges of `point` whose blocks are not those of `earlier` at the same place (both of
 * one vault), merged into runs: what a copy made from `earlier` lacks. Past the end of a
 * shorter `earlier`, every block that is not a hole differs.
 */
export function rangesChangedSince(point: MapOf, earlier: MapOf): VolumeRange[] {
  const before = earlier.blockSize === point.blockSize ? earlier.blockMap : Buffer.alloc(0);
  return runsOf(point, (id, at) => {
    const old = before.subarray(at, at + BLOCK_ID_BYTES);
    return old.length === BLOCK_ID_BYTES ? !id.equals(old) : !id.equals(HOLE_ID);
  });
}

/** Runs of consecutive blocks whose id passes `keep` (given the id and its offset in the map). */
function runsOf(point: MapOf, keep: (id: Buffer, at: number) => boolean): VolumeRange[] {
  const runs: VolumeRange[] = [];
  const blocks = point.blockMap.length / BLOCK_ID_BYTES;
  let start = -1;
  for (let b = 0; b <= blocks; b++) {
    const at = b * BLOCK_ID_BYTES;
    const kept = b < blocks && keep(point.blockMap.subarray(at, at + BLOCK_ID_BYTES), at);
    if (kept && start < 0) start = b;
    if (!kept && start >= 0) {
      const offset = start * point.blockSize;
      runs.push({ offset, length: Math.min(b * point.blockSize, point.size) - offset });
      start = -1;
    }
  }
  return runs;
}

import { IntegrityError } from "../../errors.ts";
import type { BlockIndex } from "../index/block-index.ts";
import { HOLE_ID } from "../points/manifest.ts";
import { BLOCK_ID_BYTES } from "../store/layout.ts";
import { MAX_OPENED_BYTES } from "../workers/worker-protocol.ts";

/** One blob to fetch from a pack, and every block position it fills. */
export interface PlannedBlob {
  readonly id: string;
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
  /** Block numbers (in the disk) holding this block's content. */
  readonly blocks: number[];
}

/** One ranged read of a pack, covering one or more blobs. */
export interface PlannedRead {
  readonly pack: string;
  readonly offset: number;
  readonly length: number;
  readonly blobs: PlannedBlob[];
}

/** Reads are merged while the gap between blobs is at most this, up to this many bytes. */
const MAX_GAP = 256 * 1024;
const MAX_READ = 4 * 1024 * 1024;
// ...and while the blocks they hold stay within what a worker opens at once (MAX_OPENED_BYTES).

/**
 * Plans the reads that restore blocks `[firstBlock, endBlock)` of a block map: every non-hole
 * block is located through the index, blocks with the same ID are fetched once, and blobs close
 * together in a pack are merged into one ranged read. A block the index does not know is an
 * IntegrityError: the vault lost data it had promised.
 */
export function planReads(
  ids: Buffer,
  firstBlock: number,
  endBlock: number,
  index: BlockIndex,
): PlannedRead[] {
  const byPack = new Map<string, Map<string, PlannedBlob>>();
  for (let b = firstBlock; b < endBlock; b++) {
    const id = ids.subarray(b * BLOCK_ID_BYTES, (b + 1) * BLOCK_ID_BYTES);
    if (id.equals(HOLE_ID)) continue;
    const hex = id.toString("hex");
    const loc = index.locate(hex);
    if (!loc)
      throw new IntegrityError(
        `block ${hex} (block ${b} of the disk) is not in any index object of the vault`,
      );
    const blobs = byPack.get(loc.pack) ?? new Map<string, PlannedBlob>();
    byPack.set(loc.pack, blobs);
    const planned = blobs.get(hex);
    if (planned) planned.blocks.push(b);
    else
      blobs.set(hex, {
        id: hex,
        offset: loc.offset,
        length: loc.length,
        rawLength: loc.rawLength,
        blocks: [b],
      });
  }
  const reads: PlannedRead[] = [];
  for (const [pack, blobs] of byPack) {
    const sorted = [...blobs.values()].sort((a, b) => a.offset - b.offset);
    let current: PlannedRead & { end: number; raw: number } = {
      pack,
      offset: 0,
      length: 0,
      end: 0,
      raw: 0,
      blobs: [],
    };
    const close = () => {
      if (current.blobs.length > 0) {
        reads.push({
          pack,
          offset: current.offset,
          length: current.end - current.offset,
          blobs: current.blobs,
        });
      }
    };
    for (const blob of sorted) {
      const end = blob.offset + blob.length;
      const fits =
        current.blobs.length > 0 &&
        blob.offset - current.end <= MAX_GAP &&
        end - current.offset <= MAX_READ &&
        current.raw + blob.rawLength <= MAX_OPENED_BYTES;
      if (fits) {
        current.end = Math.max(current.end, end);
        current.raw += blob.rawLength;
        current.blobs.push(blob);
      } else {
        close();
        current = { pack, offset: blob.offset, length: 0, end, raw: blob.rawLength, blobs: [blob] };
      }
    }
    close();
  }
  return reads;
}

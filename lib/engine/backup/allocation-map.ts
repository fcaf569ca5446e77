import type { VolumeRange } from "../../ports/volume-source.ts";

/** What of a chunk the allocation map says may hold data. */
export type ChunkAllocation =
  /** Nothing: every block is a hole, without reading. */
  | { readonly kind: "none" }
  /** All of it: read it whole. */
  | { readonly kind: "all" }
  /** Only these ranges (offsets from the chunk's start): read them; the rest is zeros. */
  | { readonly kind: "parts"; readonly parts: readonly VolumeRange[] };

/**
 * A source's allocation map (see `VolumeSource.allocatedRanges`), asked chunk by chunk. A map that
 * is not sorted, overlaps itself or leaves the volume is not trusted at all: leaving data out of a
 * backup is the one mistake it must never cause, so the scan then reads everything.
 */
export class AllocationMap {
  private readonly ranges: readonly VolumeRange[];

  private constructor(ranges: readonly VolumeRange[]) {
    this.ranges = ranges;
  }

  /** The map of a volume of `size` bytes, or undefined when `ranges` is missing or malformed. */
  static of(ranges: readonly VolumeRange[] | undefined, size: number): AllocationMap | undefined {
    if (!ranges) return undefined;
    let end = 0;
    for (const r of ranges) {
      const ok =
        Number.isSafeInteger(r.offset) && Number.isSafeInteger(r.length) && r.length > 0 && r.offset >= end;
      if (!ok || r.offset + r.length > size) return undefined;
      end = r.offset + r.length;
    }
    return new AllocationMap(ranges);
  }

  /** What the map says of the `length` bytes at `offset`. */
  chunk(offset: number, length: number): ChunkAllocation {
    const end = offset + length;
    const parts: VolumeRange[] = [];
    for (let i = this.firstEndingAfter(offset); i < this.ranges.length; i++) {
      const r = this.ranges[i]!;
      if (r.offset >= end) break;
      const from = Math.max(r.offset, offset);
      const to = Math.min(r.offset + r.length, end);
      parts.push({ offset: from - offset, length: to - from });
    }
    if (parts.length === 0) return { kind: "none" };
    if (parts.length === 1 && parts[0]!.offset === 0 && parts[0]!.length === length) return { kind: "all" };
    return { kind: "parts", parts };
  }

  /** Index of the first range that ends after `offset` (binary search: ranges are sorted). */
  private firstEndingAfter(offset: number): number {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.ranges[mid]!;
      if (r.offset + r.length <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

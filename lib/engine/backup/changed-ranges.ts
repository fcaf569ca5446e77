import type { ChangedRange } from "../../ports/volume-source.ts";

/** The indexes of the pieces of the disk (of `segmentBytes` each) that any changed range overlaps. */
export function segmentsTouched(ranges: readonly ChangedRange[], segmentBytes: number): Set<number> {
  const touched = new Set<number>();
  for (const r of ranges) {
    if (r.length <= 0) continue;
    const first = Math.floor(r.offset / segmentBytes);
    const last = Math.floor((r.offset + r.length - 1) / segmentBytes);
    for (let s = first; s <= last; s++) touched.add(s);
  }
  return touched;
}

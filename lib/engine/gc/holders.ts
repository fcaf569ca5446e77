/**
 * Which segment holders a point adds when it joins its disk's chain, and which change when it is
 * released from it. Pure functions of root manifests' segment lists; see docs/design.md,
 * "Garbage collection".
 *
 * A disk's chain is its unreleased points in creation order. At each slot (segment position), a
 * maximal run of consecutive chain points with the same segment holds that segment once, under
 * the holder `<disk>/<slot>/<first point of the run>`. Appending a point starts runs only where
 * its segment differs from the tail's; releasing a point ends, shortens, or joins runs around it.
 * Both touch only slots that differ between neighbours, so the work follows the change, not the
 * disk.
 */

/** A root manifest's segment ids by slot; null is a segment of holes (never stored). */
export type SegmentSlots = readonly (string | null)[];

/** One holder of one segment. */
export interface HolderChange {
  readonly segment: string;
  readonly holder: string;
}

/** A point of a chain as the holder computation needs it. */
export interface ChainPoint {
  readonly id: string;
  readonly slots: SegmentSlots;
}

/** The holder string of the run starting at `point` at `slot` of `disk`. */
export function holderId(disk: string, slot: number, point: string): string {
  return `${disk}/${slot}/${point}`;
}

/** The holders a new point adds when appended after `tail` (undefined: the chain is empty). */
export function holdersForAppend(
  disk: string,
  point: ChainPoint,
  tail: ChainPoint | undefined,
): HolderChange[] {
  const out: HolderChange[] = [];
  point.slots.forEach((segment, slot) => {
    if (segment !== null && segment !== (tail?.slots[slot] ?? null))
      out.push({ segment, holder: holderId(disk, slot, point.id) });
  });
  return out;
}

/** What releasing a point changes: holders to add first, then holders to remove. */
export interface ReleaseChanges {
  readonly add: HolderChange[];
  readonly remove: HolderChange[];
}

/**
 * The holder changes of releasing `point` from a chain where `before` and `after` are its
 * neighbours (undefined at either end). Adding before removing keeps a held segment from ever
 * being seen without holders in between.
 */
export function holdersForRelease(
  disk: string,
  before: ChainPoint | undefined,
  point: ChainPoint,
  after: ChainPoint | undefined,
): ReleaseChanges {
  const add: HolderChange[] = [];
  const remove: HolderChange[] = [];
  point.slots.forEach((p, slot) => {
    const a = before?.slots[slot] ?? null;
    const b = after?.slots[slot] ?? null;
    if (p !== null && p !== a) {
      // The run that starts at this point: it moves to the next point, or ends.
      if (p === b && after) add.push({ segment: p, holder: holderId(disk, slot, after.id) });
      remove.push({ segment: p, holder: holderId(disk, slot, point.id) });
    }
    // Neighbours equal to each other but not to this point: their two runs become one.
    if (a !== null && a === b && a !== p && after)
      remove.push({ segment: a, holder: holderId(disk, slot, after.id) });
  });
  return { add, remove };
}

/** Groups holder changes by segment, keeping first-seen order. */
export function bySegment(changes: readonly HolderChange[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { segment, holder } of changes) {
    const list = out.get(segment);
    if (list) list.push(holder);
    else out.set(segment, [holder]);
  }
  return out;
}

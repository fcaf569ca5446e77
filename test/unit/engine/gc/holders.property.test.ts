import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ChainPoint,
  holderId,
  holdersForAppend,
  holdersForRelease,
} from "../../../../lib/engine/gc/holders.ts";

const DISK = "d";
const SLOTS = 4;

/** The holders a chain should have, computed from scratch: one per maximal run per slot. */
function expectedHolders(chain: readonly ChainPoint[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (let slot = 0; slot < SLOTS; slot++) {
    chain.forEach((point, i) => {
      const segment = point.slots[slot] ?? null;
      if (segment === null || (i > 0 && chain[i - 1]!.slots[slot] === segment)) return;
      const set = out.get(segment) ?? new Set<string>();
      set.add(holderId(DISK, slot, point.id));
      out.set(segment, set);
    });
  }
  return out;
}

/** Applies changes to a holder map the way the reference store does: as set operations. */
function apply(
  state: Map<string, Set<string>>,
  adds: { segment: string; holder: string }[],
  removes = adds.slice(0, 0),
) {
  for (const { segment, holder } of adds) {
    const set = state.get(segment) ?? new Set<string>();
    set.add(holder);
    state.set(segment, set);
  }
  for (const { segment, holder } of removes) {
    const set = state.get(segment);
    set?.delete(holder);
    if (set && set.size === 0) state.delete(segment);
  }
}

const slots = fc.array(fc.option(fc.constantFrom("s1", "s2", "s3"), { nil: null }), {
  minLength: SLOTS,
  maxLength: SLOTS,
});
const step = fc.oneof(
  slots.map((s) => ({ kind: "append" as const, slots: s })),
  fc.nat().map((n) => ({ kind: "release" as const, pick: n })),
);

describe("segment holders of a disk chain", () => {
  it("always equal one holder per maximal run, whatever the appends and releases", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const chain: ChainPoint[] = [];
        const state = new Map<string, Set<string>>();
        let next = 0;
        for (const s of steps) {
          if (s.kind === "append") {
            const point = { id: `p${next++}`, slots: s.slots };
            apply(state, holdersForAppend(DISK, point, chain.at(-1)));
            chain.push(point);
          } else if (chain.length > 0) {
            const i = s.pick % chain.length;
            const { add, remove } = holdersForRelease(DISK, chain[i - 1], chain[i]!, chain[i + 1]);
            apply(state, add, remove);
            chain.splice(i, 1);
          }
          expect(state).toStrictEqual(expectedHolders(chain));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("adds holders only at the slots where an appended point differs from the tail", () => {
    const tail = { id: "a", slots: ["s1", "s2", null, "s3"] };
    const point = { id: "b", slots: ["s1", "s3", "s2", "s3"] };
    expect(holdersForAppend(DISK, point, tail)).toStrictEqual([
      { segment: "s3", holder: "d/1/b" },
      { segment: "s2", holder: "d/2/b" },
    ]);
  });

  it("moves a run that starts at a released point to its successor before removing it", () => {
    const a = { id: "a", slots: ["s1"] };
    const p = { id: "p", slots: ["s2"] };
    const b = { id: "b", slots: ["s2"] };
    expect(holdersForRelease(DISK, a, p, b)).toStrictEqual({
      add: [{ segment: "s2", holder: "d/0/b" }],
      remove: [{ segment: "s2", holder: "d/0/p" }],
    });
  });
});

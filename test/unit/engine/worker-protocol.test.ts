import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  movable,
  packItems,
  packPlacements,
  unpackItems,
  unpackPlacements,
} from "../../../lib/engine/workers/worker-protocol.ts";

const hexId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));
const size = fc.integer({ min: 0, max: 2 ** 40 });

describe("open requests packed into typed arrays", () => {
  it("unpack to the items and placements that were packed", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ id: hexId, offset: size, length: size, rawLength: size }), { maxLength: 40 }),
        fc.array(fc.record({ item: size, from: size, length: size, to: size }), { maxLength: 40 }),
        (items, placements) => {
          const unpacked = unpackItems(structuredClone(packItems(items)));
          expect(unpacked.map((i) => ({ ...i, id: i.id.toString("hex") }))).toEqual(items);
          expect(unpackPlacements(structuredClone(packPlacements(placements)))).toEqual(placements);
        },
      ),
    );
  });

  it("refuses an ID that is not 32 bytes of hex, naming the item", () => {
    const good = { id: "ab".repeat(32), offset: 0, length: 1, rawLength: 1 };
    expect(() => packItems([good, { ...good, id: "ab".repeat(31) }])).toThrow(/item 1/);
    expect(() => packItems([{ ...good, id: "zz".repeat(32) }])).toThrow(/item 0/);
    expect(() => packItems([{ ...good, id: "ab".repeat(33) }])).toThrow(/item 0/);
  });
});

describe("movable", () => {
  it("transfers plain buffers only: shared ones are shared, absent ones and file ranges have none", () => {
    const plain = new ArrayBuffer(8);
    const shared = new SharedArrayBuffer(8);
    const range = { path: "/p", key: "packs/ab/cd", offset: 0, length: 8 };
    expect(movable([plain, shared, undefined, range])).toEqual([plain]);
    expect(movable([shared])).toEqual([]);
  });
});

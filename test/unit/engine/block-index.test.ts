import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  BlockIndex,
  decodeIndex,
  encodeIndex,
  type IndexedPack,
  writeIndex,
} from "../../../lib/engine/block-index.ts";
import { deriveVaultSecrets } from "../../../lib/engine/keys.ts";
import { indexKey } from "../../../lib/engine/layout.ts";
import { IntegrityError } from "../../../lib/errors.ts";
import { MemoryObjectStore } from "../../helpers/memory-object-store.ts";

const secrets = deriveVaultSecrets(randomBytes(32), "vault-1");
const KEY = { wrapped: "d3JhcHBlZA==", masterKeyId: "master-1" };
const idOf = (n: number) => n.toString(16).padStart(64, "0");

function pack(id: string, blocks: number[]): IndexedPack {
  return {
    id,
    size: blocks.length * 100 + 50,
    key: KEY,
    blobs: blocks.map((n, i) => ({ id: idOf(n), offset: i * 100, length: 100, rawLength: 4096 })),
  };
}

describe("index objects", () => {
  it("encode and decode round-trip", () => {
    const packs = [pack("a".repeat(64), [1, 2, 3]), pack("b".repeat(64), [])];
    expect(decodeIndex("index/x", encodeIndex(packs))).toEqual(packs);
  });

  it("decoding refuses other bytes with an IntegrityError naming the object", () => {
    expect(() => decodeIndex("index/x", Buffer.from("BVIX\x01garbage"))).toThrow(/index\/x: unreadable/);
    expect(() => decodeIndex("index/y", Buffer.from("nope"))).toThrow(/index\/y: not an index object/);
  });
});

describe("BlockIndex.load", () => {
  it("knows every block of every index object, the first pack naming a block winning", async () => {
    const store = new MemoryObjectStore();
    await writeIndex(store, secrets, [pack("a".repeat(64), [1, 2])]);
    await writeIndex(store, secrets, [pack("b".repeat(64), [2, 3]), pack("c".repeat(64), [4])]);
    const index = await BlockIndex.load(store, secrets);
    expect(index.packCount).toBe(3);
    expect(index.blockCount).toBe(4);
    expect(index.locate(idOf(3))).toEqual({
      pack: "b".repeat(64),
      offset: 100,
      length: 100,
      rawLength: 4096,
    });
    expect(index.has(idOf(4))).toBe(true);
    expect(index.has(idOf(5))).toBe(false);
    expect(["a".repeat(64), "b".repeat(64)]).toContain(index.locate(idOf(2))!.pack);
    expect(index.pack("c".repeat(64))!.key).toEqual(KEY);
  });

  it("refuses an index object whose bytes no longer match its name", async () => {
    const store = new MemoryObjectStore();
    const { id } = await writeIndex(store, secrets, [pack("a".repeat(64), [1])]);
    const bytes = store.objects.get(indexKey(id))!;
    bytes[bytes.length - 1]! ^= 1;
    await expect(BlockIndex.load(store, secrets)).rejects.toBeInstanceOf(IntegrityError);
    await expect(BlockIndex.load(store, secrets)).rejects.toThrow(indexKey(id));
  });

  it("loads an empty vault as an empty index", async () => {
    const index = await BlockIndex.load(new MemoryObjectStore(), secrets);
    expect([index.packCount, index.blockCount]).toEqual([0, 0]);
  });
});

import { randomBytes } from "node:crypto";
import { zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  BlockIndex,
  decodeIndex,
  encodeIndex,
  type IndexedPack,
  writeIndex,
} from "../../../lib/engine/index/block-index.ts";
import { encodeIndexV1 } from "../../../lib/engine/index/index-codec.ts";
import { deriveVaultSecrets } from "../../../lib/engine/keys/keys.ts";
import { indexKey } from "../../../lib/engine/store/layout.ts";
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

  it("round-trip many packs of random IDs and sizes up to the format's limits", () => {
    const packs = Array.from({ length: 7 }, (_, p) => ({
      id: randomBytes(32).toString("hex"),
      size: 8 * 1024 * 1024 + p,
      key: { wrapped: `w${p}`, masterKeyId: `m${p % 2}` },
      blobs: Array.from({ length: p * 13 }, (_, i) => ({
        id: randomBytes(32).toString("hex"),
        offset: i === 0 ? 0xffff_ffff : i * 65_553,
        length: 1 + ((i * 7919) % 65_553),
        rawLength: i % 3 === 0 ? 65_536 : 1 + i,
      })),
    }));
    expect(decodeIndex("index/x", encodeIndex(packs))).toEqual(packs);
  });

  it("still reads version 1 objects, written before the columnar format", () => {
    const packs = [pack("a".repeat(64), [1, 2, 3]), pack("b".repeat(64), [])];
    expect(encodeIndexV1(packs).subarray(0, 5).toString("latin1")).toBe("BVIX\x01");
    expect(decodeIndex("index/x", encodeIndexV1(packs))).toEqual(packs);
  });

  it("refuses to write an entry the format cannot hold", () => {
    const bad = (blob: Partial<IndexedPack["blobs"][number]>) => [
      { ...pack("a".repeat(64), [1]), blobs: [{ ...pack("a".repeat(64), [1]).blobs[0]!, ...blob }] },
    ];
    expect(() => encodeIndex(bad({ id: "ab" }))).toThrow(/not 32 bytes of hex/);
    expect(() => encodeIndex(bad({ id: "zz".repeat(32) }))).toThrow(/not 32 bytes of hex/);
    expect(() => encodeIndex(bad({ offset: 2 ** 32 }))).toThrow(/does not fit/);
    expect(() => encodeIndex(bad({ length: -1 }))).toThrow(/does not fit/);
  });

  it("decoding refuses other bytes with an IntegrityError naming the object", () => {
    expect(() => decodeIndex("index/x", Buffer.from("BVIX\x01garbage"))).toThrow(/index\/x: unreadable/);
    expect(() => decodeIndex("index/x", Buffer.from("BVIX\x02garbage"))).toThrow(/index\/x: unreadable/);
    expect(() => decodeIndex("index/y", Buffer.from("nope"))).toThrow(/index\/y: not an index object/);
  });

  it("decoding refuses a version 2 body whose columns do not match its header", () => {
    const packs = [pack("a".repeat(64), [1, 2, 3])];
    const body = zstdDecompressSync(encodeIndex(packs).subarray(5));
    const reencode = (b: Buffer) => Buffer.concat([Buffer.from("BVIX\x02"), zstdCompressSync(b)]);
    for (const damaged of [body.subarray(0, body.length - 4), Buffer.concat([body, Buffer.alloc(12)])]) {
      const err = (() => {
        try {
          decodeIndex("index/z", reencode(damaged));
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(IntegrityError);
      expect((err as Error).message).toMatch(/index\/z: unreadable/);
    }
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

  it("reads the successor of an index object garbage collection replaces between listing and reading", async () => {
    const store = new MemoryObjectStore();
    await writeIndex(store, secrets, [pack("a".repeat(64), [1])]);
    const { id: old } = await writeIndex(store, secrets, [
      pack("b".repeat(64), [2]),
      pack("c".repeat(64), [3]),
    ]);
    // The first read of the old object finds it replaced: pack c dropped, the object deleted.
    let replaced = false;
    const get = store.get.bind(store);
    store.get = async (key, range) => {
      if (key === indexKey(old) && !replaced) {
        replaced = true;
        await writeIndex(store, secrets, [pack("b".repeat(64), [2])]);
        store.objects.delete(key);
      }
      return get(key, range);
    };
    const index = await BlockIndex.load(store, secrets);
    expect(replaced).toBe(true);
    expect(index.packCount).toBe(2);
    expect([index.has(idOf(1)), index.has(idOf(2)), index.has(idOf(3))]).toEqual([true, true, false]);
  });

  it("loads an empty vault as an empty index", async () => {
    const index = await BlockIndex.load(new MemoryObjectStore(), secrets);
    expect([index.packCount, index.blockCount]).toEqual([0, 0]);
  });
});

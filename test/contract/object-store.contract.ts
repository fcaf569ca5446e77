import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlreadyExistsError, IntegrityError, NotFoundError, ValidationError } from "../../lib/errors.ts";
import type { ObjectInfo, ObjectStore } from "../../lib/ports/object-store.ts";

/** What a contract run needs: a fresh, empty store and a way to dispose of it. */
export interface ObjectStoreFixture {
  readonly store: ObjectStore;
  cleanup(): Promise<void>;
}

/** Keys every adapter must refuse with a `ValidationError`. */
export const INVALID_KEYS = [
  "",
  "/abs",
  "trailing/",
  "a//b",
  "..",
  ".",
  "a/../b",
  "./a",
  "a/./b",
  "sp ace",
  "back\\slash",
  "ümlaut",
  "new\nline",
  "a:b",
] as const;

/** Every object under `prefix`, sorted by key so results compare regardless of listing order. */
export async function listAll(store: ObjectStore, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of store.list(prefix)) out.push({ key: info.key, size: info.size });
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const bytes = (text: string) => Buffer.from(text, "utf8");

/**
 * The {@link ObjectStore} contract, clause by clause, against the store `makeStore` returns.
 * Each test gets a fresh store, so adapters backed by shared services should hand out a unique
 * prefix per call.
 */
export function describeObjectStoreContract(
  name: string,
  makeStore: () => Promise<ObjectStoreFixture>,
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let fixture: ObjectStoreFixture;
    let store: ObjectStore;
    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    describe("put and get", () => {
      it("round-trips the bytes of an object as a Buffer", async () => {
        await store.put("packs/ab/ab12", bytes("hello vault"));
        const got = await store.get("packs/ab/ab12");
        expect(Buffer.isBuffer(got)).toBe(true);
        expect(got.toString("utf8")).toBe("hello vault");
      });

      it("stores an empty object", async () => {
        await store.put("empty", new Uint8Array(0));
        expect((await store.get("empty")).length).toBe(0);
        expect(await store.head("empty")).toMatchObject({ key: "empty", size: 0 });
      });

      it("accepts a Uint8Array view into a larger buffer and stores only the view", async () => {
        const backing = Buffer.from("xxxxPAYLOADyyyy");
        await store.put("view", new Uint8Array(backing.buffer, backing.byteOffset + 4, 7));
        expect((await store.get("view")).toString()).toBe("PAYLOAD");
      });

      it("is create-only: a second put rejects with AlreadyExistsError and keeps the original bytes", async () => {
        await store.put("config", bytes("original"));
        await expect(store.put("config", bytes("a longer replacement"))).rejects.toBeInstanceOf(
          AlreadyExistsError,
        );
        await expect(store.put("config", bytes("x"))).rejects.toBeInstanceOf(AlreadyExistsError);
        expect((await store.get("config")).toString()).toBe("original");
        expect((await store.head("config")).size).toBe(8);
      });

      it("rejects a put of identical content too (content-addressed callers treat it as success)", async () => {
        await store.put("blob", bytes("same"));
        const err = await store.put("blob", bytes("same")).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(AlreadyExistsError);
        expect((err as AlreadyExistsError).retryable).toBe(false);
      });

      it("rejects get of a missing key with a NotFoundError naming the key", async () => {
        const err = await store.get("packs/zz/missing").catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as Error).message).toContain("packs/zz/missing");
        expect((err as NotFoundError).retryable).toBe(false);
      });

      it("can store again after a delete", async () => {
        await store.put("again", bytes("one"));
        await store.delete("again");
        await store.put("again", bytes("two"));
        expect((await store.get("again")).toString()).toBe("two");
      });

      it("round-trips arbitrary bytes (property)", async () => {
        let n = 0;
        await fc.assert(
          fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (data) => {
            const key = `prop/rt/${n++}`;
            await store.put(key, data);
            expect(Buffer.compare(await store.get(key), Buffer.from(data))).toBe(0);
            expect((await store.head(key)).size).toBe(data.length);
          }),
          { numRuns: 40 },
        );
      });
    });

    describe("ranged get", () => {
      const data = Buffer.from("0123456789abcdef");
      beforeEach(async () => {
        await store.put("ranged", data);
      });

      it("returns exactly the requested bytes at the start, middle and end", async () => {
        expect((await store.get("ranged", { offset: 0, length: 4 })).toString()).toBe("0123");
        expect((await store.get("ranged", { offset: 5, length: 3 })).toString()).toBe("567");
        expect((await store.get("ranged", { offset: 10, length: 6 })).toString()).toBe("abcdef");
        expect((await store.get("ranged", { offset: 0, length: 16 })).toString()).toBe(data.toString());
      });

      it("rejects a range reaching past the end with an IntegrityError naming the key, never a short read", async () => {
        const err = await store.get("ranged", { offset: 10, length: 7 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(IntegrityError);
        expect((err as Error).message).toContain("ranged");
        await expect(store.get("ranged", { offset: 16, length: 1 })).rejects.toBeInstanceOf(IntegrityError);
        await expect(store.get("ranged", { offset: 100, length: 1 })).rejects.toBeInstanceOf(IntegrityError);
      });

      it("rejects a range of a missing key with NotFoundError", async () => {
        await expect(store.get("nope", { offset: 0, length: 1 })).rejects.toBeInstanceOf(NotFoundError);
      });

      it("rejects malformed ranges with ValidationError", async () => {
        for (const range of [
          { offset: -1, length: 2 },
          { offset: 0, length: 0 },
          { offset: 0, length: -3 },
          { offset: 1.5, length: 2 },
          { offset: 0, length: Number.NaN },
        ]) {
          await expect(store.get("ranged", range)).rejects.toBeInstanceOf(ValidationError);
        }
      });

      it("matches a slice of the object for every in-bounds range, and fails past the end (property)", async () => {
        let n = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.uint8Array({ minLength: 1, maxLength: 2048 }),
            fc.nat(),
            fc.nat(),
            async (raw, a, b) => {
              const key = `prop/range/${n++}`;
              const object = Buffer.from(raw);
              await store.put(key, object);
              const offset = a % object.length;
              const length = 1 + (b % (object.length - offset));
              const got = await store.get(key, { offset, length });
              expect(Buffer.compare(got, object.subarray(offset, offset + length))).toBe(0);
              await expect(
                store.get(key, { offset, length: object.length - offset + 1 }),
              ).rejects.toBeInstanceOf(IntegrityError);
            },
          ),
          { numRuns: 40 },
        );
      });
    });

    describe("head", () => {
      it("reports the key and size", async () => {
        await store.put("meta/one", bytes("12345"));
        expect(await store.head("meta/one")).toMatchObject({ key: "meta/one", size: 5 });
        const { modified } = await store.head("meta/one");
        // Stores that know when an object was written say so in epoch milliseconds.
        if (modified !== undefined) expect(Math.abs(modified - Date.now())).toBeLessThan(10 * 60_000);
      });

      it("rejects a missing key with NotFoundError naming it", async () => {
        const err = await store.head("meta/none").catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as Error).message).toContain("meta/none");
      });
    });

    describe("list", () => {
      const keys = ["packs/ab/1", "packs/ab/2", "packs/abc/3", "packs/b/4", "packsx", "index/5", "top"];
      beforeEach(async () => {
        for (const [i, key] of keys.entries()) await store.put(key, Buffer.alloc(i + 1, i));
      });
      const sizeOf = (key: string) => keys.indexOf(key) + 1;
      const expected = (...ks: string[]) => ks.sort().map((key) => ({ key, size: sizeOf(key) }));

      it("lists everything, with sizes, for the empty prefix", async () => {
        expect(await listAll(store, "")).toEqual(expected(...keys));
      });

      it("treats the prefix as a string prefix, not a directory", async () => {
        expect(await listAll(store, "packs/")).toEqual(
          expected("packs/ab/1", "packs/ab/2", "packs/abc/3", "packs/b/4"),
        );
        expect(await listAll(store, "packs/ab")).toEqual(expected("packs/ab/1", "packs/ab/2", "packs/abc/3"));
        expect(await listAll(store, "packs/ab/")).toEqual(expected("packs/ab/1", "packs/ab/2"));
        expect(await listAll(store, "packs")).toEqual(
          expected("packs/ab/1", "packs/ab/2", "packs/abc/3", "packs/b/4", "packsx"),
        );
        expect(await listAll(store, "to")).toEqual(expected("top"));
      });

      it("matches a full key exactly", async () => {
        expect(await listAll(store, "packs/ab/1")).toEqual(expected("packs/ab/1"));
        expect(await listAll(store, "top")).toEqual(expected("top"));
      });

      it("yields each object once", async () => {
        const seen: string[] = [];
        for await (const info of store.list("")) seen.push(info.key);
        expect(seen.length).toBe(new Set(seen).size);
        expect(seen.length).toBe(keys.length);
      });

      it("yields nothing for a prefix nothing starts with", async () => {
        expect(await listAll(store, "packs/zz")).toEqual([]);
        expect(await listAll(store, "nothing/here/")).toEqual([]);
        expect(await listAll(store, "top/")).toEqual([]);
      });

      it("no longer lists a deleted object", async () => {
        await store.delete("packs/ab/1");
        expect(await listAll(store, "packs/ab/")).toEqual(expected("packs/ab/2"));
      });

      it("rejects a prefix no valid key can start with", async () => {
        for (const prefix of ["/packs", "packs//", "a/../", "sp ace"]) {
          await expect(listAll(store, prefix)).rejects.toBeInstanceOf(ValidationError);
        }
      });
    });

    describe("delete", () => {
      it("removes the object", async () => {
        await store.put("gone", bytes("bye"));
        await store.delete("gone");
        await expect(store.head("gone")).rejects.toBeInstanceOf(NotFoundError);
        await expect(store.get("gone")).rejects.toBeInstanceOf(NotFoundError);
      });

      it("is idempotent: deleting a missing key, or deleting twice, succeeds", async () => {
        await expect(store.delete("never/existed")).resolves.toBeUndefined();
        await store.put("twice", bytes("x"));
        await store.delete("twice");
        await expect(store.delete("twice")).resolves.toBeUndefined();
      });

      it("leaves other objects alone, including ones sharing a prefix", async () => {
        await store.put("d/one", bytes("1"));
        await store.put("d/one2", bytes("22"));
        await store.delete("d/one");
        expect(await listAll(store, "d/")).toEqual([{ key: "d/one2", size: 2 }]);
      });
    });

    describe("keys", () => {
      it("refuses invalid keys with ValidationError in every operation", async () => {
        for (const key of INVALID_KEYS) {
          await expect(store.put(key, bytes("x")), key).rejects.toBeInstanceOf(ValidationError);
          await expect(store.get(key), key).rejects.toBeInstanceOf(ValidationError);
          await expect(store.head(key), key).rejects.toBeInstanceOf(ValidationError);
          await expect(store.delete(key), key).rejects.toBeInstanceOf(ValidationError);
        }
        expect(await listAll(store, "")).toEqual([]);
      });

      it("accepts every character the key alphabet allows", async () => {
        const key = "Az09._-/x.y-Z_1/...a/-";
        await store.put(key, bytes("ok"));
        expect((await store.get(key)).toString()).toBe("ok");
        expect(await listAll(store, "Az09")).toEqual([{ key, size: 2 }]);
      });

      it("stores, heads and lists any valid key (property)", async () => {
        const segment = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/).filter((s) => s !== "." && s !== "..");
        const keyArb = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("/"));
        let n = 0;
        await fc.assert(
          fc.asyncProperty(keyArb, async (suffix) => {
            const key = `p${n++}/${suffix}`;
            await store.put(key, bytes(key));
            expect(await store.head(key)).toMatchObject({ key, size: Buffer.byteLength(key) });
            expect(await listAll(store, key)).toContainEqual({ key, size: Buffer.byteLength(key) });
          }),
          { numRuns: 30 },
        );
      });
    });
  });
}

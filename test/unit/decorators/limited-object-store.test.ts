import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsObjectStore } from "../../../lib/adapters/local/fs-object-store.ts";
import { LimitedObjectStore } from "../../../lib/decorators/limited-object-store.ts";
import { ValidationError } from "../../../lib/errors.ts";
import type { ByteRange, ObjectInfo, ObjectStore } from "../../../lib/ports/object-store.ts";
import { keysUnder, watchListClose } from "./fakes.ts";

/** Passes calls to `inner`, counting how many are in flight and lingering a few loop turns in each. */
class GaugedStore implements ObjectStore {
  inFlight = 0;
  peak = 0;
  readonly #inner: ObjectStore;
  constructor(inner: ObjectStore) {
    this.#inner = inner;
  }
  async #gauge<T>(call: () => Promise<T>): Promise<T> {
    this.peak = Math.max(this.peak, ++this.inFlight);
    try {
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      return await call();
    } finally {
      this.inFlight--;
    }
  }
  put(key: string, data: Uint8Array): Promise<void> {
    return this.#gauge(() => this.#inner.put(key, data));
  }
  get(key: string, range?: ByteRange): Promise<Buffer> {
    return this.#gauge(() => this.#inner.get(key, range));
  }
  head(key: string): Promise<ObjectInfo> {
    return this.#gauge(() => this.#inner.head(key));
  }
  delete(key: string): Promise<void> {
    return this.#gauge(() => this.#inner.delete(key));
  }
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const items = this.#inner.list(prefix)[Symbol.asyncIterator]();
    for (;;) {
      const step = await this.#gauge(() => items.next());
      if (step.done) return;
      yield step.value;
    }
  }
}

describe("LimitedObjectStore", () => {
  let root: string;
  let gauged: GaugedStore;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "blockvault-limited-store-"));
    gauged = new GaugedStore(new FsObjectStore(root));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("never has more than `limit` calls in flight, whatever mix of calls runs at once (property)", async () => {
    const op = fc.constantFrom("put", "get", "head", "delete", "list");
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(op, { minLength: 1, maxLength: 24 }),
        async (limit, ops) => {
          const prefix = `r${run++}`;
          gauged.peak = 0;
          const store = new LimitedObjectStore(gauged, limit);
          await Promise.all(
            ops.map(async (name, i) => {
              const key = `${prefix}/${i}`;
              if (name === "put") await store.put(key, Buffer.from(key));
              else if (name === "list") await keysUnder(store, prefix);
              else await store[name](key).catch(() => undefined);
            }),
          );
          expect(gauged.peak).toBeLessThanOrEqual(limit);
          expect(gauged.peak).toBe(Math.min(limit, ops.length));
          expect(gauged.inFlight).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("keeps results and errors of the inner store", async () => {
    const store = new LimitedObjectStore(gauged, 2);
    await store.put("a", Buffer.from("abc"));
    expect((await store.get("a", { offset: 1, length: 2 })).toString()).toBe("bc");
    expect(await store.head("a")).toMatchObject({ key: "a", size: 3 });
    await expect(store.get("missing")).rejects.toMatchObject({ name: "NotFoundError" });
    await expect(store.put("a", Buffer.from("x"))).rejects.toMatchObject({ name: "AlreadyExistsError" });
  });

  it("does not hold a permit while the caller handles a listed item, so reads inside a listing work at limit 1", async () => {
    const store = new LimitedObjectStore(gauged, 1);
    for (const key of ["x/1", "x/2", "x/3"]) await store.put(key, Buffer.from(key));
    const read: string[] = [];
    for await (const info of store.list("x/")) read.push((await store.get(info.key)).toString());
    expect(read.sort()).toEqual(["x/1", "x/2", "x/3"]);
  });

  it("closes the inner listing when the caller stops early", async () => {
    const watched = watchListClose(gauged);
    const store = new LimitedObjectStore(watched.store, 1);
    await store.put("y/1", Buffer.from("1"));
    await store.put("y/2", Buffer.from("2"));
    for await (const _ of store.list("y/")) break;
    expect(watched.closed()).toBe(true);
    expect(await store.head("y/1")).toMatchObject({ size: 1 });
  });

  it("refuses a limit that is not an integer >= 1", () => {
    expect(() => new LimitedObjectStore(gauged, 0)).toThrow(ValidationError);
  });
});

import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsObjectStore } from "../../../lib/adapters/local/fs-object-store.ts";
import { RetryingObjectStore } from "../../../lib/decorators/retrying-object-store.ts";
import { AlreadyExistsError, IntegrityError, NotFoundError, TransientError } from "../../../lib/errors.ts";
import { FlakyObjectStore, instantPolicy, keysUnder, watchListClose } from "./fakes.ts";

const bytes = (text: string) => Buffer.from(text);

describe("RetryingObjectStore over a flaky FsObjectStore", () => {
  let root: string;
  let disk: FsObjectStore;
  let flaky: FlakyObjectStore;
  let policy: ReturnType<typeof instantPolicy>;
  let store: RetryingObjectStore;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "blockvault-retry-store-"));
    disk = new FsObjectStore(root);
    flaky = new FlakyObjectStore(disk);
    policy = instantPolicy();
    store = new RetryingObjectStore(flaky, policy);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe("put", () => {
    it("retries a put refused before it reached the store", async () => {
      flaky.script.fail("put", "before", 2);
      await store.put("a", bytes("one"));
      expect(flaky.script.calls).toEqual(["put", "put", "put"]);
      expect((await disk.get("a")).toString()).toBe("one");
    });

    it("treats its own landed put (response lost) as success once the bytes match", async () => {
      flaky.script.fail("put", "after");
      await store.put("a", bytes("one"));
      expect(flaky.script.calls).toEqual(["put", "put", "get"]);
      expect((await disk.get("a")).toString()).toBe("one");
    });

    it("compares only the bytes of a view into a larger buffer", async () => {
      const backing = Buffer.from("xxpayloadyy");
      flaky.script.fail("put", "after");
      await store.put("view", new Uint8Array(backing.buffer, backing.byteOffset + 2, 7));
      expect((await disk.get("view")).toString()).toBe("payload");
    });

    it("rethrows AlreadyExistsError on a retry when the stored bytes differ", async () => {
      await disk.put("a", bytes("theirs"));
      flaky.script.fail("put", "before");
      await expect(store.put("a", bytes("ours"))).rejects.toBeInstanceOf(AlreadyExistsError);
      expect(flaky.script.calls).toEqual(["put", "put", "get"]);
      expect((await disk.get("a")).toString()).toBe("theirs");
    });

    it("rethrows AlreadyExistsError on the first attempt at once, without reading", async () => {
      await disk.put("a", bytes("same"));
      await expect(store.put("a", bytes("same"))).rejects.toBeInstanceOf(AlreadyExistsError);
      expect(flaky.script.calls).toEqual(["put"]);
      expect(policy.delays).toEqual([]);
    });

    it("retries the whole put when the check read fails transiently", async () => {
      flaky.script.fail("put", "after").fail("get", "before");
      await store.put("a", bytes("one"));
      expect(flaky.script.calls).toEqual(["put", "put", "get", "put", "get"]);
    });

    it("keeps the AlreadyExistsError when the check read fails for good", async () => {
      flaky.script.fail("put", "after").fail("get", "before", 1, new IntegrityError("unreadable"));
      await expect(store.put("a", bytes("one"))).rejects.toBeInstanceOf(AlreadyExistsError);
    });

    it("gives up after five failed attempts", async () => {
      flaky.script.fail("put", "before", 5);
      const err = await store.put("a", bytes("one")).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect((err as Error).message).toMatch(/^put object a failed after 5 attempts/);
      expect(await keysUnder(disk)).toEqual([]);
    });

    it("stores exactly once whatever faults hit it, or keeps a different object (property)", async () => {
      const faults = fc.array(fc.constantFrom("before" as const, "after" as const), { maxLength: 4 });
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ maxLength: 512 }),
          faults,
          fc.boolean(),
          async (data, modes, taken) => {
            const key = `p/${n++}`;
            if (taken) await disk.put(key, Buffer.concat([Buffer.from(data), bytes("!")]));
            const before = taken ? await disk.get(key) : undefined;
            for (const mode of modes) flaky.script.fail("put", mode);
            const outcome = await store.put(key, data).catch((e: unknown) => e);
            if (taken) {
              expect(outcome).toBeInstanceOf(AlreadyExistsError);
              expect(await disk.get(key)).toStrictEqual(before);
            } else {
              expect(outcome).toBeUndefined();
              expect(await disk.get(key)).toStrictEqual(Buffer.from(data));
            }
            // Faults a refused put did not consume must not leak into the next run.
            while (flaky.script.take("put")) {}
          },
        ),
        { numRuns: 60 },
      );
    });
  });

  describe("get, head and delete", () => {
    it("retries transient failures of each", async () => {
      await disk.put("a", bytes("hello"));
      flaky.script.fail("get", "before", 2).fail("head", "before").fail("delete", "after");
      expect((await store.get("a", { offset: 1, length: 3 })).toString()).toBe("ell");
      expect(await store.head("a")).toMatchObject({ key: "a", size: 5 });
      await store.delete("a");
      expect(flaky.script.calls).toEqual(["get", "get", "get", "head", "head", "delete", "delete"]);
      await expect(disk.head("a")).rejects.toBeInstanceOf(NotFoundError);
    });

    it("does not retry NotFoundError", async () => {
      await expect(store.get("missing")).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.head("missing")).rejects.toBeInstanceOf(NotFoundError);
      expect(flaky.script.calls).toEqual(["get", "head"]);
    });
  });

  describe("list", () => {
    beforeEach(async () => {
      for (const key of ["k/1", "k/2", "k/3"]) await disk.put(key, bytes(key));
    });

    it("retries a listing that fails before yielding anything", async () => {
      flaky.script.fail("list", "before", 2);
      expect(await keysUnder(store, "k/")).toEqual(["k/1", "k/2", "k/3"]);
      expect(flaky.script.count("list")).toBe(3);
      expect(policy.delays).toHaveLength(2);
    });

    it("rethrows a failure after the first item without starting over", async () => {
      flaky.script.fail("list");
      flaky.listFailAfter.push(1);
      const seen: string[] = [];
      const err = await (async () => {
        for await (const info of store.list("k/")) seen.push(info.key);
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect(seen).toHaveLength(1);
      expect(flaky.script.count("list")).toBe(1);
    });

    it("does not retry a non-retryable failure, and lists an empty prefix once", async () => {
      flaky.script.fail("list", "before", 1, new IntegrityError("corrupt listing"));
      await expect(keysUnder(store, "k/")).rejects.toBeInstanceOf(IntegrityError);
      expect(await keysUnder(store, "none/")).toEqual([]);
      expect(flaky.script.count("list")).toBe(2);
    });

    it("closes the inner listing when the caller stops after the first item", async () => {
      const watched = watchListClose(disk);
      for await (const _ of new RetryingObjectStore(watched.store, policy).list("k/")) break;
      expect(watched.closed()).toBe(true);
    });
  });
});

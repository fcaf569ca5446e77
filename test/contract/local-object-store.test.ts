import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { translateFsError } from "../../lib/adapters/local/fs-errors.ts";
import { FsObjectStore } from "../../lib/adapters/local/fs-object-store.ts";
import { openSqliteCatalog } from "../../lib/adapters/local/sqlite-catalog.ts";
import { decoratePorts } from "../../lib/compose/decorate.ts";
import {
  AccessDeniedError,
  AlreadyExistsError,
  BlockvaultError,
  NotFoundError,
  TransientError,
  ValidationError,
} from "../../lib/errors.ts";
import { systemClock } from "../../lib/ports/clock.ts";
import { MemoryObjectStore } from "../helpers/memory-object-store.ts";
import { describeObjectStoreContract, listAll } from "./object-store.contract.ts";

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "blockvault-fs-store-"));
}

describeObjectStoreContract("FsObjectStore", async () => {
  const root = await tempDir();
  return { store: new FsObjectStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe("FsObjectStore on disk", () => {
  let root: string;
  let store: FsObjectStore;
  beforeEach(async () => {
    root = await tempDir();
    store = new FsObjectStore(path.join(root, "vault"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const tmpEntries = () => readdir(path.join(store.root, ".tmp"));

  it("names the file holding an object, and for a missing object a path where no file is", async () => {
    await store.put("packs/ab/ab12", Buffer.from("data"));
    expect(await readFile(await store.localPath("packs/ab/ab12"))).toEqual(Buffer.from("data"));
    await expect(readFile(await store.localPath("packs/ab/gone"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(store.localPath("../escape")).rejects.toBeInstanceOf(ValidationError);
  });

  it("offers the local path beside the decorated store, and only where the store's objects are files", async () => {
    await store.put("packs/ab/ab12", Buffer.from("data"));
    const catalog = openSqliteCatalog(path.join(root, "catalog.sqlite"));
    onTestFinished(() => catalog.close());
    const ports = { catalog, keys: {} as never, clock: systemClock };
    const decorated = decoratePorts({ ...ports, store, objectFiles: store }, { storeConcurrency: 2 });
    expect(await decorated.localFiles?.objects?.localPath("packs/ab/ab12")).toBe(
      await store.localPath("packs/ab/ab12"),
    );
    const inMemory = decoratePorts({ ...ports, store: new MemoryObjectStore() }, { storeConcurrency: 2 });
    expect(inMemory.localFiles?.objects).toBeUndefined();
    expect("localPath" in inMemory.store).toBe(false);
  });

  it("creates the root on first put and keeps each object as a file at its key path", async () => {
    await store.put("packs/ab/ab12", Buffer.from("data"));
    expect(await readFile(path.join(root, "vault", "packs", "ab", "ab12"), "utf8")).toBe("data");
  });

  it("makes its directories again when they are removed behind its back between puts", async () => {
    await store.put("packs/ab/ab12", Buffer.from("one"));
    await rm(path.join(store.root, "packs"), { recursive: true });
    await rm(path.join(store.root, ".tmp"), { recursive: true });
    await store.put("packs/ab/ab34", Buffer.from("two"));
    expect((await store.get("packs/ab/ab34")).toString()).toBe("two");
    await rm(path.join(store.root, "packs", "ab"), { recursive: true });
    await store.put("packs/ab/ab56", Buffer.from("three"));
    expect((await store.get("packs/ab/ab56")).toString()).toBe("three");
    expect(await tmpEntries()).toEqual([]);
  });

  it("leaves the temporary directory empty after successful and refused puts", async () => {
    await store.put("a", Buffer.from("1"));
    await store.put("b/c", Buffer.from("2"));
    await expect(store.put("a", Buffer.from("3"))).rejects.toBeInstanceOf(AlreadyExistsError);
    expect(await tmpEntries()).toEqual([]);
  });

  it("lets exactly one of many concurrent puts of a key win, keeping its bytes whole", async () => {
    const payloads = Array.from({ length: 16 }, (_, i) => Buffer.alloc(256 * 1024, i));
    const results = await Promise.allSettled(payloads.map((p) => store.put("contended/key", p)));
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === "rejected") expect(r.reason).toBeInstanceOf(AlreadyExistsError);
    }
    expect(Buffer.compare(await store.get("contended/key"), payloads[won[0]!]!)).toBe(0);
    expect(await tmpEntries()).toEqual([]);
  });

  it("never shows a reader a partial object while it is being written", async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    const writes = Array.from({ length: 8 }, (_, i) => store.put(`atomic/${i}`, big));
    const reads = Array.from({ length: 64 }, async (_, n) => {
      const got = await store.get(`atomic/${n % 8}`).catch((e: unknown) => e);
      if (got instanceof NotFoundError) return;
      expect(Buffer.isBuffer(got) && got.length === big.length && Buffer.compare(got, big) === 0).toBe(true);
    });
    await Promise.all([...writes, ...reads]);
  });

  it("does not list the temporary directory, stray files or invalid names", async () => {
    await store.put("real", Buffer.from("x"));
    await writeFile(path.join(store.root, ".tmp", "in-flight.tmp"), "partial");
    await writeFile(path.join(store.root, "bad name"), "stray");
    expect(await listAll(store, "")).toEqual([{ key: "real", size: 1 }]);
    expect(await listAll(store, ".")).toEqual([]);
  });

  it("reserves a top-level .tmp segment", async () => {
    await expect(store.put(".tmp/x", Buffer.from("x"))).rejects.toBeInstanceOf(ValidationError);
    await expect(store.get(".tmp/x")).rejects.toBeInstanceOf(ValidationError);
    await store.put("nested/.tmp/x", Buffer.from("ok"));
    expect((await store.get("nested/.tmp/x")).toString()).toBe("ok");
  });

  it("refuses a key that is also a directory of other keys, and vice versa, with a clear error", async () => {
    await store.put("a/b", Buffer.from("file"));
    const below = await store.put("a/b/c", Buffer.from("x")).catch((e: unknown) => e);
    expect(below).toBeInstanceOf(ValidationError);
    expect((below as Error).message).toContain("a/b/c");
    await expect(store.put("a", Buffer.from("x"))).rejects.toBeInstanceOf(ValidationError);
    await expect(store.get("a/b/c")).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.get("a")).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.head("a")).rejects.toBeInstanceOf(NotFoundError);
    await store.delete("a");
    await store.delete("a/b/c");
    expect((await store.get("a/b")).toString()).toBe("file");
    expect(await tmpEntries()).toEqual([]);
  });

  it("lists nothing under a root that does not exist yet", async () => {
    expect(await listAll(store, "")).toEqual([]);
    await expect(store.head("x")).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.delete("x")).resolves.toBeUndefined();
  });

  it("reports an object cut short on disk as an IntegrityError on a ranged read", async () => {
    await store.put("cut", Buffer.from("0123456789"));
    // Simulate damage behind the store's back: replace the file with a shorter one.
    await rm(path.join(store.root, "cut"));
    await mkdir(store.root, { recursive: true });
    await writeFile(path.join(store.root, "cut"), "01234");
    const err = await store.get("cut", { offset: 2, length: 6 }).catch((e: unknown) => e);
    expect((err as Error).name).toBe("IntegrityError");
    expect((err as Error).message).toMatch(/cut.*5-byte/);
  });
});

describe("translateFsError", () => {
  const osError = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });

  it("maps OS error codes onto the hierarchy, keeping the cause and naming the object", () => {
    const cases = [
      ["ENOENT", NotFoundError, false],
      ["ENOTDIR", NotFoundError, false],
      ["EACCES", AccessDeniedError, false],
      ["EPERM", AccessDeniedError, false],
      ["EIO", TransientError, true],
      ["EAGAIN", TransientError, true],
      ["EMFILE", TransientError, true],
      ["ENFILE", TransientError, true],
    ] as const;
    for (const [code, type, retryable] of cases) {
      const cause = osError(code);
      const err = translateFsError(cause, "get object packs/ab/1");
      expect(err, code).toBeInstanceOf(type);
      expect(err.retryable, code).toBe(retryable);
      expect(err.cause).toBe(cause);
      expect(err.message).toContain("packs/ab/1");
    }
  });

  it("makes a full disk a non-retryable error saying so", () => {
    const err = translateFsError(osError("ENOSPC"), "put object x");
    expect(err).toBeInstanceOf(BlockvaultError);
    expect(err.retryable).toBe(false);
    expect(err.code).toBe("NO_SPACE");
    expect(err.message).toMatch(/no space left/);
  });

  it("wraps unknown errors and passes product errors through", () => {
    const unknown = translateFsError(osError("EWEIRD"), "head object y");
    expect(unknown.constructor).toBe(BlockvaultError);
    expect(unknown.retryable).toBe(false);
    const ours = new ValidationError("bad");
    expect(translateFsError(ours, "z")).toBe(ours);
  });
});

import { access, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { FsObjectArchive } from "../../lib/adapters/local/fs-object-archive.ts";
import { FsObjectStore } from "../../lib/adapters/local/fs-object-store.ts";
import { openSqliteCatalog } from "../../lib/adapters/local/sqlite-catalog.ts";
import { decoratePorts } from "../../lib/compose/decorate.ts";
import { LimitedObjectStore } from "../../lib/decorators/limited-object-store.ts";
import {
  limitedLocalObjectFiles,
  retryingLocalObjectFiles,
} from "../../lib/decorators/local-object-files.ts";
import { AlreadyExistsError, NotFoundError, TransientError, ValidationError } from "../../lib/errors.ts";
import { systemClock } from "../../lib/ports/clock.ts";
import type { StagingArea } from "../../lib/ports/local-files.ts";
import { Semaphore } from "../../lib/util/semaphore.ts";
import { MemoryObjectStore } from "../helpers/memory-object-store.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { FlakyObjectStore, instantPolicy } from "../unit/decorators/fakes.ts";
import { listAll } from "./object-store.contract.ts";

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

describe("FsObjectStore staging areas", () => {
  let root: string;
  let store: FsObjectStore;
  let area: StagingArea;
  beforeEach(async () => {
    root = await tempDir("staging");
    store = new FsObjectStore(path.join(root, "vault"));
    area = await store.stage();
  });
  afterEach(async () => {
    await removeDir(root);
  });

  /** Writes a file into the area, as a worker thread would. */
  const stageFile = async (name: string, text: string) => {
    await writeFile(path.join(area.directory, name), text);
    return name;
  };

  it("stores a staged file as the object, removes the file and never lists staged files", async () => {
    await stageFile("p1", "pack one");
    await stageFile("p2", "not yet stored");
    await area.put("packs/aa/p1", "p1");
    expect((await store.get("packs/aa/p1")).toString()).toBe("pack one");
    expect(await readdir(area.directory)).toEqual(["p2"]);
    expect((await listAll(store, "")).map((o) => o.key)).toEqual(["packs/aa/p1"]);
  });

  it("is create-only: an existing key is left untouched, the staged file is dropped", async () => {
    await store.put("packs/aa/p1", Buffer.from("first"));
    await stageFile("p1", "second");
    await expect(area.put("packs/aa/p1", "p1")).rejects.toBeInstanceOf(AlreadyExistsError);
    expect((await store.get("packs/aa/p1")).toString()).toBe("first");
    expect(await readdir(area.directory)).toEqual([]);
  });

  it("refuses a name that is not a plain file of the area, and a bad key, storing nothing", async () => {
    await writeFile(path.join(root, "outside"), "secret");
    for (const name of ["../../../outside", "a/b", ".", "..", ""]) {
      await expect(area.put("packs/aa/x", name), name).rejects.toBeInstanceOf(ValidationError);
    }
    await stageFile("p1", "bytes");
    await expect(area.put("../escape", "p1")).rejects.toBeInstanceOf(ValidationError);
    expect(await listAll(store, "")).toEqual([]);
    expect(await exists(path.join(root, "outside"))).toBe(true);
  });

  it("reports a staged file that is not there as not found", async () => {
    await expect(area.put("packs/aa/p1", "missing")).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.head("packs/aa/p1")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("closes by removing its directory and whatever is left in it, more than once if asked", async () => {
    await stageFile("left-over", "x");
    const other = await store.stage();
    expect(other.directory).not.toBe(area.directory);
    await area.close();
    await area.close();
    expect(await exists(area.directory)).toBe(false);
    expect(await exists(other.directory)).toBe(true);
  });

  it("is offered beside the decorated store by the composition, only where the store's objects are files", async () => {
    const catalog = openSqliteCatalog(path.join(root, "catalog.sqlite"));
    onTestFinished(() => catalog.close());
    const ports = { catalog, keys: {} as never, clock: systemClock };
    const decorated = decoratePorts({ ...ports, store, objectFiles: store }, { storeConcurrency: 2 });
    const outer = await decorated.localFiles!.objects!.stage();
    await writeFile(path.join(outer!.directory, "p1"), "through decorators");
    await outer!.put("packs/aa/p1", "p1");
    expect((await decorated.store.get("packs/aa/p1")).toString()).toBe("through decorators");
    await outer!.close();
    expect(await exists(outer!.directory)).toBe(false);
    const inMemory = decoratePorts({ ...ports, store: new MemoryObjectStore() }, { storeConcurrency: 2 });
    expect(inMemory.localFiles?.objects).toBeUndefined();
  });

  it("counts staged puts against the limit of calls in flight", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The one permit is held by a call that waits at the gate.
    const held = {
      ...store,
      head: async (key: string) => {
        await gate;
        return store.head(key);
      },
    } as unknown as FsObjectStore;
    const permits = new Semaphore(1);
    const limited = new LimitedObjectStore(held, permits);
    const outer = (await limitedLocalObjectFiles(store, permits).stage())!;
    await writeFile(path.join(outer.directory, "p1"), "one");
    const blocking = limited.head("packs/aa/p1").catch(() => undefined);
    let stored = false;
    const put = outer.put("packs/aa/p1", "p1").then(() => {
      stored = true;
    });
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(stored).toBe(false);
    release();
    await Promise.all([blocking, put]);
    expect(stored).toBe(true);
  });

  it("retries opening an area but not a staged put, whose file the first attempt consumed", async () => {
    const flaky = new FlakyObjectStore(store);
    const retrying = retryingLocalObjectFiles(
      { localPath: (key) => store.localPath(key), stage: () => flaky.stage() },
      instantPolicy(),
    );
    flaky.script.fail("stage", "before").fail("stagedPut", "before");
    const outer = (await retrying.stage())!;
    await writeFile(path.join(outer.directory, "p1"), "one");
    await expect(outer.put("packs/aa/p1", "p1")).rejects.toBeInstanceOf(TransientError);
    expect(flaky.script.calls).toEqual(["stage", "stage", "stagedPut"]);
    await outer.close();
  });
});

describe("FsObjectArchive staging areas", () => {
  let root: string;
  beforeEach(async () => {
    root = await tempDir("staging-archive");
  });
  afterEach(async () => {
    await removeDir(root);
  });

  it("stores staged objects in STANDARD even where a stale sidecar names the key", async () => {
    const store = new FsObjectStore(root);
    const archive = new FsObjectArchive(store);
    await archive.put("packs/aa/p1", Buffer.from("old"), { storageClass: "GLACIER" });
    // Deleted behind the archive's back: the sidecar stays.
    await store.delete("packs/aa/p1");
    const area = await archive.stage();
    await writeFile(path.join(area.directory, "p1"), "new");
    await area.put("packs/aa/p1", "p1");
    expect(await archive.storageClass("packs/aa/p1")).toBe("STANDARD");
    expect((await archive.get("packs/aa/p1")).toString()).toBe("new");
    await area.close();
  });
});

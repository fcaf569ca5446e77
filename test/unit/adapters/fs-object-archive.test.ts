import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ARCHIVE_STATE_DIR, FsObjectArchive } from "../../../lib/adapters/local/fs-object-archive.ts";
import { FsObjectStore } from "../../../lib/adapters/local/fs-object-store.ts";
import { ArchivedObjectError, IntegrityError, NotFoundError, ValidationError } from "../../../lib/errors.ts";
import type { RestoreTier, StorageClass } from "../../../lib/ports/object-archive.ts";
import { describeObjectStoreContract, listAll } from "../../contract/object-store.contract.ts";

const DAY = 86_400_000;

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "blockvault-fs-archive-"));
}

describeObjectStoreContract("FsObjectArchive (wrapping FsObjectStore)", async () => {
  const root = await tempDir();
  return {
    store: new FsObjectArchive(new FsObjectStore(root)),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe("FsObjectArchive", () => {
  let root: string;
  let now: number;
  let delays: Array<[RestoreTier, StorageClass]>;
  let archive: FsObjectArchive;
  const data = Buffer.from("0123456789");
  const stateDir = () => path.join(root, ARCHIVE_STATE_DIR);
  const open = () =>
    new FsObjectArchive(new FsObjectStore(root), {
      clock: { now: () => now },
      restoreDelayMs: (tier, cls) => {
        delays.push([tier, cls]);
        return tier === "Expedited" ? 60_000 : 3_600_000;
      },
    });

  beforeEach(async () => {
    root = await tempDir();
    now = 1_700_000_000_000;
    delays = [];
    archive = open();
    await archive.put("packs/a", data);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("starts every object online in STANDARD, with no archive state on disk", async () => {
    expect(await archive.storageClass("packs/a")).toBe("STANDARD");
    expect(await archive.restoreState("packs/a")).toBe("online");
    await expect(readdir(stateDir())).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("keeps STANDARD_IA online and readable", async () => {
    await archive.setStorageClass("packs/a", "STANDARD_IA");
    expect(await archive.storageClass("packs/a")).toBe("STANDARD_IA");
    expect(await archive.restoreState("packs/a")).toBe("online");
    expect(await archive.get("packs/a", { offset: 2, length: 3 })).toEqual(Buffer.from("234"));
  });

  it("refuses reads of an archived object with ArchivedObjectError naming it, while head and list work", async () => {
    await archive.setStorageClass("packs/a", "GLACIER");
    expect(await archive.restoreState("packs/a")).toBe("archived");
    const err = await archive.get("packs/a").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArchivedObjectError);
    expect((err as Error).message).toContain("packs/a");
    await expect(archive.get("packs/a", { offset: 0, length: 1 })).rejects.toBeInstanceOf(
      ArchivedObjectError,
    );
    expect(await archive.head("packs/a")).toMatchObject({ key: "packs/a", size: 10 });
    expect(await listAll(archive, "")).toEqual([{ key: "packs/a", size: 10 }]);
    // The bytes never moved: the plain store underneath still reads them.
    expect(await archive.store.get("packs/a")).toEqual(data);
  });

  it("stores straight into an archive class when a put asks for one", async () => {
    await archive.put("cold", data, { storageClass: "DEEP_ARCHIVE" });
    expect(await archive.storageClass("cold")).toBe("DEEP_ARCHIVE");
    await expect(archive.get("cold")).rejects.toBeInstanceOf(ArchivedObjectError);
  });

  it("restores after the injected delay, reads until the days run out, then is archived again", async () => {
    await archive.setStorageClass("packs/a", "DEEP_ARCHIVE");
    await archive.requestRestore("packs/a", { days: 2, tier: "Bulk" });
    expect(delays).toEqual([["Bulk", "DEEP_ARCHIVE"]]);
    expect(await archive.restoreState("packs/a")).toBe("restoring");
    await expect(archive.get("packs/a")).rejects.toBeInstanceOf(ArchivedObjectError);
    now += 3_600_000 - 1;
    expect(await archive.restoreState("packs/a")).toBe("restoring");
    now += 1;
    expect(await archive.restoreState("packs/a")).toBe("restored");
    expect(await archive.get("packs/a")).toEqual(data);
    expect(await archive.storageClass("packs/a")).toBe("DEEP_ARCHIVE");
    now += 2 * DAY;
    expect(await archive.restoreState("packs/a")).toBe("archived");
    await expect(archive.get("packs/a")).rejects.toBeInstanceOf(ArchivedObjectError);
  });

  it("treats a repeated request as success: in progress it changes nothing, restored it extends the days", async () => {
    await archive.setStorageClass("packs/a", "GLACIER");
    await archive.requestRestore("packs/a", { days: 1, tier: "Standard" });
    now += 1_000;
    await archive.requestRestore("packs/a", { days: 5, tier: "Expedited" });
    expect(delays).toHaveLength(1);
    now += 3_600_000;
    expect(await archive.restoreState("packs/a")).toBe("restored");
    now += DAY - 10_000;
    await archive.requestRestore("packs/a", { days: 3, tier: "Bulk" });
    now += 2 * DAY;
    expect(await archive.restoreState("packs/a")).toBe("restored");
    now += DAY;
    expect(await archive.restoreState("packs/a")).toBe("archived");
  });

  it("completes a restore at once by default", async () => {
    const immediate = new FsObjectArchive(new FsObjectStore(root));
    await immediate.setStorageClass("packs/a", "GLACIER");
    await immediate.requestRestore("packs/a", { days: 1, tier: "Bulk" });
    expect(await immediate.restoreState("packs/a")).toBe("restored");
    expect(await immediate.get("packs/a")).toEqual(data);
  });

  it("names the object's file only while it can be read: not archived, not while restoring", async () => {
    const file = await archive.localPath("packs/a");
    expect(file).toBeDefined();
    expect(await readFile(file!)).toEqual(data);
    await archive.setStorageClass("packs/a", "GLACIER");
    expect(await archive.localPath("packs/a")).toBeUndefined();
    await archive.requestRestore("packs/a", { days: 1, tier: "Standard" });
    expect(await archive.localPath("packs/a")).toBeUndefined();
    now += 3_600_000;
    expect(await archive.localPath("packs/a")).toBe(file);
  });

  it("changes an archived object's class only once restored, like S3's copy", async () => {
    await archive.setStorageClass("packs/a", "GLACIER");
    await expect(archive.setStorageClass("packs/a", "STANDARD")).rejects.toBeInstanceOf(ArchivedObjectError);
    await expect(archive.setStorageClass("packs/a", "DEEP_ARCHIVE")).rejects.toBeInstanceOf(
      ArchivedObjectError,
    );
    await archive.setStorageClass("packs/a", "GLACIER");
    await archive.requestRestore("packs/a", { days: 1, tier: "Expedited" });
    now += 60_000;
    await archive.setStorageClass("packs/a", "STANDARD");
    expect(await archive.restoreState("packs/a")).toBe("online");
    expect(await readdir(stateDir())).toEqual([]);
    now += 10 * DAY;
    expect(await archive.get("packs/a")).toEqual(data);
  });

  it("treats a restore of an online object as done, and refuses bad days", async () => {
    await archive.requestRestore("packs/a", { days: 1, tier: "Bulk" });
    expect(await archive.restoreState("packs/a")).toBe("online");
    expect(delays).toEqual([]);
    for (const days of [0, -2, 0.5, Number.NaN]) {
      await expect(archive.requestRestore("packs/a", { days, tier: "Bulk" })).rejects.toBeInstanceOf(
        ValidationError,
      );
    }
  });

  it("rejects archive operations on missing keys with NotFoundError, and invalid keys with ValidationError", async () => {
    const calls = (key: string) => [
      () => archive.storageClass(key),
      () => archive.setStorageClass(key, "GLACIER"),
      () => archive.requestRestore(key, { days: 1, tier: "Bulk" }),
      () => archive.restoreState(key),
    ];
    for (const call of calls("packs/missing")) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toContain("packs/missing");
    }
    for (const key of ["a//b", "../x", ".tmp/x"]) {
      for (const call of calls(key)) await expect(call(), key).rejects.toBeInstanceOf(ValidationError);
    }
  });

  it("keeps state in a sidecar under @archive that survives reopening and is never listed", async () => {
    await archive.setStorageClass("packs/a", "GLACIER");
    const [file] = await readdir(stateDir());
    expect(JSON.parse(await readFile(path.join(stateDir(), file!), "utf8"))).toMatchObject({
      key: "packs/a",
      storageClass: "GLACIER",
    });
    const reopened = open();
    expect(await reopened.restoreState("packs/a")).toBe("archived");
    expect(await listAll(reopened, "")).toEqual([{ key: "packs/a", size: 10 }]);
  });

  it("forgets the state with the object: delete, then a new put under the key, is online", async () => {
    await archive.setStorageClass("packs/a", "GLACIER");
    await archive.delete("packs/a");
    expect(await readdir(stateDir())).toEqual([]);
    await archive.put("packs/a", Buffer.from("new"));
    expect(await archive.get("packs/a")).toEqual(Buffer.from("new"));
  });

  it("ignores a sidecar left by an object deleted behind its back once the key is stored again", async () => {
    await archive.setStorageClass("packs/a", "GLACIER");
    await unlink(path.join(root, "packs", "a"));
    await archive.put("packs/a", Buffer.from("new"));
    expect(await archive.restoreState("packs/a")).toBe("online");
  });

  it("reports a damaged sidecar as an IntegrityError", async () => {
    await archive.setStorageClass("packs/a", "GLACIER");
    const [file] = await readdir(stateDir());
    await writeFile(path.join(stateDir(), file!), "{not json");
    await expect(archive.get("packs/a")).rejects.toBeInstanceOf(IntegrityError);
    await writeFile(
      path.join(stateDir(), file!),
      JSON.stringify({ version: 1, key: "other", storageClass: "GLACIER" }),
    );
    await expect(archive.restoreState("packs/a")).rejects.toBeInstanceOf(IntegrityError);
  });
});

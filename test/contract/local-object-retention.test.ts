import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsObjectArchive } from "../../lib/adapters/local/fs-object-archive.ts";
import { FsObjectStore } from "../../lib/adapters/local/fs-object-store.ts";
import { RETENTION_DIR } from "../../lib/adapters/local/fs-retention.ts";
import { LimitedObjectStore } from "../../lib/decorators/limited-object-store.ts";
import { RetryingObjectStore } from "../../lib/decorators/retrying-object-store.ts";
import { AccessDeniedError } from "../../lib/errors.ts";
import { RetentionMode } from "../../lib/ports/object-store.ts";
import { describeRetentionContract } from "./object-retention.contract.ts";
import { listAll } from "./object-store.contract.ts";

const DAY = 86_400_000;
const tempDir = () => mkdtemp(path.join(os.tmpdir(), "blockvault-fs-retention-"));

describeRetentionContract("FsObjectStore", async () => {
  const root = await tempDir();
  return { store: new FsObjectStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describeRetentionContract("FsObjectArchive over FsObjectStore", async () => {
  const root = await tempDir();
  return {
    store: new FsObjectArchive(new FsObjectStore(root)),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

// The decorators forward `retain` by hand: a wrapped store that lost it would fail every clause.
describeRetentionContract("FsObjectStore behind the retrying and limiting decorators", async () => {
  const root = await tempDir();
  const store = new RetryingObjectStore(new LimitedObjectStore(new FsObjectStore(root), 2));
  if (!store.retain) throw new Error("the decorated store lost retain");
  return {
    store: store as typeof store & { retain: NonNullable<typeof store.retain> },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe("FsObjectStore retention on disk", () => {
  let root: string;
  let now: number;
  let store: FsObjectStore;
  beforeEach(async () => {
    root = await tempDir();
    now = Date.parse("2030-01-01T00:00:00Z");
    store = new FsObjectStore(root, { clock: { now: () => now } });
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("keeps retention out of listings and out of every key's reach", async () => {
    await store.put("packs/ab/1", Buffer.from("p"));
    await store.retain("packs/ab/1", now + DAY, RetentionMode.Governance);
    expect(await listAll(store, "")).toEqual([{ key: "packs/ab/1", size: 1 }]);
    expect(await readdir(path.join(root, RETENTION_DIR, "packs", "ab", "1"))).toEqual([
      `@${now + DAY}.governance`,
    ]);
  });

  it("holds the latest date in the strongest mode whatever order two writers extend in", async () => {
    await store.put("packs/ab/2", Buffer.from("p"));
    // Two processes extending at once: each adds a record, neither can take the other's back.
    const other = new FsObjectStore(root, { clock: { now: () => now } });
    await Promise.all([
      store.retain("packs/ab/2", now + 3 * DAY, RetentionMode.Governance),
      other.retain("packs/ab/2", now + 2 * DAY, RetentionMode.Compliance),
    ]);
    expect(await store.retention("packs/ab/2")).toEqual({
      until: now + 3 * DAY,
      mode: RetentionMode.Compliance,
    });
  });

  it("measures the end against its clock: refused before, deleted after", async () => {
    await store.put("packs/ab/3", Buffer.from("p"));
    await store.retain("packs/ab/3", now + DAY, RetentionMode.Compliance);
    now += DAY - 1;
    await expect(store.delete("packs/ab/3")).rejects.toBeInstanceOf(AccessDeniedError);
    now += 1;
    await store.delete("packs/ab/3");
    expect(await listAll(store, "")).toEqual([]);
  });

  it("keeps a retained archived object's archive state when its delete is refused", async () => {
    const archive = new FsObjectArchive(store, { clock: { now: () => now } });
    await archive.put("packs/ab/4", Buffer.from("p"));
    await archive.setStorageClass("packs/ab/4", "DEEP_ARCHIVE");
    await archive.retain("packs/ab/4", now + DAY, RetentionMode.Governance);
    await expect(archive.delete("packs/ab/4")).rejects.toBeInstanceOf(AccessDeniedError);
    expect(await archive.storageClass("packs/ab/4")).toBe("DEEP_ARCHIVE");
  });
});

import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteCatalog, type SqliteCatalog } from "../../lib/adapters/local/sqlite-catalog.ts";
import {
  BlockvaultError,
  ConflictError,
  NotFoundError,
  TransientError,
  ValidationError,
} from "../../lib/errors.ts";
import type { JobRecord } from "../../lib/model.ts";
import { describeCatalogContract } from "./catalog.contract.ts";
import { disk, job, point, vault } from "./catalog-records.ts";

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "blockvault-catalog-"));
}

describeCatalogContract("SqliteCatalog (file)", async () => {
  const dir = await tempDir();
  const catalog = openSqliteCatalog(path.join(dir, "catalog.db"));
  return {
    catalog,
    async cleanup() {
      await catalog.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describeCatalogContract("SqliteCatalog (:memory:)", async () => {
  const catalog = openSqliteCatalog(":memory:");
  return { catalog, cleanup: () => catalog.close() };
});

describe("SqliteCatalog on disk", () => {
  let dir: string;
  let file: string;
  const open: SqliteCatalog[] = [];
  const catalogAt = (options = {}) => {
    const catalog = openSqliteCatalog(file, options);
    open.push(catalog);
    return catalog;
  };
  beforeEach(async () => {
    dir = await tempDir();
    file = path.join(dir, "catalog.db");
  });
  afterEach(async () => {
    for (const catalog of open.splice(0)) await catalog.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("persists records across close and reopen", async () => {
    const first = catalogAt();
    await first.createVault(vault());
    await first.putDisk(disk());
    await first.commitRecoveryPoint(point("p1", { sourceRef: "snap-1" }), null);
    await first.createJob(job("j1", { detail: { slot: 3 } }));
    await first.close();
    const second = catalogAt();
    expect(await second.getVault("v1")).toStrictEqual(vault());
    expect(await second.getRecoveryPoint("v1", "p1")).toStrictEqual(point("p1", { sourceRef: "snap-1" }));
    expect(await second.getJob("v1", "j1")).toStrictEqual(job("j1", { detail: { slot: 3 } }));
    expect((await second.latestRecoveryPoint("v1", "d1"))?.id).toBe("p1");
  });

  it("runs in WAL mode with foreign keys on, storing absent fields as NULL", async () => {
    const catalog = catalogAt();
    await catalog.createVault(vault());
    await catalog.createJob(job("j1"));
    const raw = new DatabaseSync(file, { readOnly: true });
    try {
      expect(raw.prepare("PRAGMA journal_mode").get()?.journal_mode).toBe("wal");
      const row = raw.prepare("SELECT disk, detail, error FROM jobs WHERE id = 'j1'").get();
      expect({ ...row }).toStrictEqual({ disk: null, detail: null, error: null });
    } finally {
      raw.close();
    }
  });

  it("refuses records of a vault that does not exist with NotFoundError", async () => {
    const catalog = catalogAt();
    await expect(catalog.putDisk(disk({ vaultId: "ghost" }))).rejects.toBeInstanceOf(NotFoundError);
    await expect(catalog.createJob(job("j1", { vaultId: "ghost" }))).rejects.toBeInstanceOf(NotFoundError);
    await expect(catalog.commitRecoveryPoint(point("p1", { vaultId: "ghost" }), null)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(await catalog.listRecoveryPoints("ghost")).toStrictEqual([]);
  });

  it("refuses a record with a missing or mistyped required field with ValidationError", async () => {
    const catalog = catalogAt();
    await catalog.createVault(vault());
    const broken = { ...job("j1"), status: undefined } as unknown as JobRecord;
    await expect(catalog.createJob(broken)).rejects.toBeInstanceOf(ValidationError);
    const mistyped = { ...job("j2"), started: "yesterday" } as unknown as JobRecord;
    await expect(catalog.createJob(mistyped)).rejects.toBeInstanceOf(ValidationError);
    expect(await catalog.listJobs("v1")).toStrictEqual([]);
  });

  it("keeps the conditional commit exact across two connections to one file", async () => {
    const a = catalogAt();
    const b = catalogAt();
    await a.createVault(vault());
    await a.commitRecoveryPoint(point("p1"), null);
    // Both writers saw p1 as the latest; only the first commit against it may land.
    await a.commitRecoveryPoint(point("from-a", { parent: "p1" }), "p1");
    await expect(b.commitRecoveryPoint(point("from-b", { parent: "p1" }), "p1")).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect((await b.latestRecoveryPoint("v1", "d1"))?.id).toBe("from-a");
  });

  it("turns a write lock held past the busy timeout into a retryable TransientError", async () => {
    const catalog = catalogAt({ busyTimeoutMs: 50 });
    await catalog.createVault(vault());
    const blocker = new DatabaseSync(file);
    blocker.exec("BEGIN IMMEDIATE");
    try {
      const err = await catalog.commitRecoveryPoint(point("p1"), null).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect((err as TransientError).retryable).toBe(true);
      await expect(catalog.createJob(job("j1"))).rejects.toBeInstanceOf(TransientError);
    } finally {
      blocker.exec("ROLLBACK");
      blocker.close();
    }
    await catalog.commitRecoveryPoint(point("p1"), null);
    expect((await catalog.getRecoveryPoint("v1", "p1")).id).toBe("p1");
  });

  it("refuses a catalog written by a newer schema version", async () => {
    catalogAt();
    const raw = new DatabaseSync(file);
    raw.exec("PRAGMA user_version = 99");
    raw.close();
    const err = (() => {
      try {
        return openSqliteCatalog(file);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(BlockvaultError);
    expect((err as BlockvaultError).code).toBe("CATALOG_TOO_NEW");
  });

  it("closes idempotently and fails calls after close", async () => {
    const catalog = catalogAt();
    await catalog.close();
    await catalog.close();
    await expect(catalog.getVault("v1")).rejects.toBeInstanceOf(BlockvaultError);
  });
});

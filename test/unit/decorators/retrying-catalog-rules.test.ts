import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteCatalog, type SqliteCatalog } from "../../../lib/adapters/local/sqlite-catalog.ts";
import { retryingCatalog } from "../../../lib/decorators/retrying-catalog.ts";
import {
  AlreadyExistsError,
  ConflictError,
  NotFoundError,
  TransientError,
  ValidationError,
} from "../../../lib/errors.ts";
import { LockState, type PolicyRecord } from "../../../lib/model.ts";
import type { Catalog } from "../../../lib/ports/catalog.ts";
import { vault } from "../../contract/catalog-records.ts";
import { policy, settings } from "../../contract/catalog-rules.contract.ts";
import { FaultScript, instantPolicy, withFaults } from "./fakes.ts";

/** Version 2 of policy `p`, with `definition`. */
const p2 = (definition: PolicyRecord["definition"]) => ({
  ...policy("p"),
  version: 2,
  updated: 2,
  definition,
});

describe("Catalog policies and settings over a flaky SqliteCatalog", () => {
  let inner: SqliteCatalog;
  let script: FaultScript;
  let catalog: Catalog;
  beforeEach(async () => {
    inner = openSqliteCatalog(":memory:");
    await inner.createVault(vault());
    script = new FaultScript();
    catalog = retryingCatalog(withFaults(inner, script), instantPolicy());
  });
  afterEach(async () => {
    await inner.close();
  });

  it("retries the reads on transient failures", async () => {
    await inner.putPolicy(policy("p"), null);
    const reads = [
      ["getPolicy", () => catalog.getPolicy("v1", "p")],
      ["listPolicies", () => catalog.listPolicies("v1")],
      ["getSettings", () => catalog.getSettings("v1")],
    ] as const;
    for (const [method, call] of reads) {
      script.fail(method, "before").fail(method, "after");
      await call();
      expect(script.count(method), method).toBe(3);
    }
  });

  it("does not retry NotFoundError, ConflictError or ValidationError", async () => {
    await expect(catalog.getPolicy("v1", "nope")).rejects.toBeInstanceOf(NotFoundError);
    await expect(catalog.putPolicy(p2({}), 1)).rejects.toBeInstanceOf(NotFoundError);
    await expect(catalog.putSettings(settings(2), 1)).rejects.toBeInstanceOf(ConflictError);
    await expect(catalog.putSettings(settings(5), 0)).rejects.toBeInstanceOf(ValidationError);
    expect(script.calls).toEqual(["getPolicy", "putPolicy", "putSettings", "putSettings"]);
  });

  describe("putSettings", () => {
    it("reports success when its own earlier write landed but the response was lost", async () => {
      script.fail("putSettings", "after");
      await catalog.putSettings(settings(1), 0);
      expect(script.calls).toEqual(["putSettings", "putSettings", "getSettings"]);
      expect(await inner.getSettings("v1")).toStrictEqual(settings(1));
    });

    it("keeps ConflictError on a retry when another writer's settings hold that version", async () => {
      await inner.putSettings(settings(1, { lock: LockState.Locked }), 0);
      script.fail("putSettings", "before");
      await expect(catalog.putSettings(settings(1), 0)).rejects.toBeInstanceOf(ConflictError);
      expect(script.calls).toEqual(["putSettings", "putSettings", "getSettings"]);
      expect((await inner.getSettings("v1")).lock).toBe(LockState.Locked);
    });

    it("keeps ConflictError on a retry when the version moved on past its write", async () => {
      script.fail("putSettings", "after");
      const landed = inner.putSettings.bind(inner);
      // Another writer's change lands between the lost response and the retry.
      inner.putSettings = async (s, expected) => {
        await landed(s, expected);
        if (expected === 0) await landed(settings(2, { softDeleteDays: 99 }), 1);
      };
      await expect(catalog.putSettings(settings(1), 0)).rejects.toBeInstanceOf(ConflictError);
      expect((await inner.getSettings("v1")).softDeleteDays).toBe(99);
    });

    it("keeps ConflictError on the first attempt without looking", async () => {
      await inner.putSettings(settings(1), 0);
      await expect(catalog.putSettings(settings(1), 0)).rejects.toBeInstanceOf(ConflictError);
      expect(script.calls).toEqual(["putSettings"]);
    });

    it("retries when the check read itself fails transiently", async () => {
      script.fail("putSettings", "after").fail("getSettings", "before");
      await catalog.putSettings(settings(1), 0);
      expect(script.count("putSettings")).toBe(3);
      expect(script.count("getSettings")).toBe(2);
    });

    it("gives up after five transient failures, having written nothing", async () => {
      script.fail("putSettings", "before", 5);
      const err = await catalog.putSettings(settings(1), 0).catch((e) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect(err.message).toMatch(/^put settings of vault v1 failed after 5 attempts/);
      expect((await inner.getSettings("v1")).version).toBe(0);
    });
  });

  describe("putPolicy", () => {
    it("reports success when its own create or update landed but the response was lost", async () => {
      script.fail("putPolicy", "after");
      await catalog.putPolicy(policy("p"), null);
      script.fail("putPolicy", "after");
      // A definition field given as undefined reads back absent: still the same policy.
      await catalog.putPolicy(p2({ daily: { days: 7 }, archive: undefined }), 1);
      expect(script.calls).toEqual([
        "putPolicy",
        "putPolicy",
        "getPolicy",
        "putPolicy",
        "putPolicy",
        "getPolicy",
      ]);
      expect(await inner.getPolicy("v1", "p")).toStrictEqual(p2({ daily: { days: 7 } }));
    });

    it("keeps AlreadyExistsError on a retried create when someone else's policy holds the name", async () => {
      await inner.putPolicy(policy("p", { definition: { theirs: true } }), null);
      script.fail("putPolicy", "before");
      await expect(catalog.putPolicy(policy("p"), null)).rejects.toBeInstanceOf(AlreadyExistsError);
      expect(script.calls).toEqual(["putPolicy", "putPolicy", "getPolicy"]);
      expect((await inner.getPolicy("v1", "p")).definition).toStrictEqual({ theirs: true });
    });

    it("keeps ConflictError on a retried update when someone else's version 2 is stored", async () => {
      await inner.putPolicy(policy("p"), null);
      await inner.putPolicy(p2({ theirs: true }), 1);
      script.fail("putPolicy", "before");
      await expect(catalog.putPolicy(p2({ ours: true }), 1)).rejects.toBeInstanceOf(ConflictError);
      expect(script.calls).toEqual(["putPolicy", "putPolicy", "getPolicy"]);
      expect((await inner.getPolicy("v1", "p")).definition).toStrictEqual({ theirs: true });
    });

    it("tells versions apart: the same content at another version is not its write", async () => {
      await inner.putPolicy(policy("p"), null);
      await inner.putPolicy(p2({}), 1);
      await inner.putPolicy({ ...p2({}), version: 3 }, 2);
      script.fail("putPolicy", "before");
      await expect(catalog.putPolicy(p2({}), 1)).rejects.toBeInstanceOf(ConflictError);
    });

    it("checks only the refusal its own landed write would cause", async () => {
      // An update that finds no policy on the retry was not landed by the first attempt.
      script.fail("putPolicy", "before");
      await expect(catalog.putPolicy(p2({}), 1)).rejects.toBeInstanceOf(NotFoundError);
      expect(script.calls).toEqual(["putPolicy", "putPolicy"]);
      // Neither is a create refused with ConflictError, nor an update with AlreadyExistsError.
      await inner.putPolicy(policy("p"), null);
      const conflict = new ConflictError("injected");
      script.fail("putPolicy", "before").fail("putPolicy", "before", 1, conflict);
      await expect(catalog.putPolicy(policy("p"), null)).rejects.toBe(conflict);
      const exists = new AlreadyExistsError("injected");
      script.fail("putPolicy", "after").fail("putPolicy", "before", 1, exists);
      await expect(catalog.putPolicy(p2({}), 1)).rejects.toBe(exists);
      expect(script.count("getPolicy")).toBe(0);
    });
  });
});

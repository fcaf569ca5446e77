import { describe, expect, it } from "vitest";
import { openSqliteCatalog } from "../../../lib/adapters/local/sqlite-catalog.ts";
import { retryPolicy } from "../../../lib/decorators/retry.ts";
import { retryingReferences } from "../../../lib/decorators/retrying-references.ts";
import { ConflictError, TransientError } from "../../../lib/errors.ts";
import type { ReferenceStore } from "../../../lib/ports/references.ts";
import { vault } from "../../contract/catalog-records.ts";
import { describeReferenceStoreContract } from "../../contract/references.contract.ts";

const instant = () => retryPolicy({ maxAttempts: 4, sleep: async () => {} });

describeReferenceStoreContract("retryingReferences(SqliteReferenceStore)", async () => {
  const catalog = openSqliteCatalog(":memory:");
  await catalog.createVault(vault());
  return {
    refs: retryingReferences(catalog.references(), instant()),
    vaultId: "v1",
    cleanup: () => catalog.close(),
  };
});

/** A store whose `holdPack` fails with `errors` in turn before delegating. */
function flaky(inner: ReferenceStore, errors: Error[]): { store: ReferenceStore; calls: () => number } {
  let calls = 0;
  const store = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop !== "holdPack") return typeof value === "function" ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        calls++;
        const next = errors.shift();
        if (next) throw next;
        return value.apply(target, args);
      };
    },
  });
  return { store, calls: () => calls };
}

describe("retryingReferences", () => {
  it("retries transient failures of an idempotent call until it succeeds", async () => {
    const catalog = openSqliteCatalog(":memory:");
    await catalog.createVault(vault());
    const refs = catalog.references();
    await refs.registerPacks("v1", ["p1"], 1);
    const { store, calls } = flaky(refs, [new TransientError("busy"), new TransientError("busy")]);
    await retryingReferences(store, instant()).holdPack("v1", "p1", ["s1"]);
    expect(calls()).toBe(3);
    expect((await refs.getPack("v1", "p1"))?.holders).toBe(1);
    await catalog.close();
  });

  it("passes a stale-reference conflict straight to the caller, unwrapped, although it is retryable", async () => {
    const catalog = openSqliteCatalog(":memory:");
    await catalog.createVault(vault());
    const conflict = new ConflictError("pack p1 is condemned", { retryable: true });
    const { store, calls } = flaky(catalog.references(), [conflict]);
    await expect(retryingReferences(store, instant()).holdPack("v1", "p1", ["s1"])).rejects.toBe(conflict);
    expect(calls()).toBe(1);
    await catalog.close();
  });
});

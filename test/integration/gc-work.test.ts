import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SqliteCatalog } from "../../lib/adapters/local/sqlite-catalog.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import type { ObjectStore } from "../../lib/ports/object-store.ts";
import type { ReferenceStore } from "../../lib/ports/references.ts";
import { purgeExpired } from "../../lib/rules/soft-delete.ts";
import { Vault } from "../../lib/vault.ts";
import { DAY } from "../helpers/gc-fixture.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { openLocalPorts } from "../helpers/local-ports.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const MIB = 1024 * 1024;
let root: string;
beforeEach(async () => {
  root = await tempDir("gc-work");
});
afterEach(async () => {
  await removeDir(root);
});

/** Counts every call made through a port. */
function counting<T extends object>(target: T, counter: { calls: number }): T {
  return new Proxy(target, {
    get(obj, prop) {
      const value = Reflect.get(obj, prop, obj);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        counter.calls++;
        return value.apply(obj, args);
      };
    },
  });
}

/**
 * Builds a vault holding disk "x" (two points, the first purged) and `otherDisks` more disks of
 * 4 MiB each, then counts the object-store and reference-store calls of one collection.
 */
async function collectionWork(name: string, otherDisks: number) {
  let now = Date.now();
  const clock = { now: () => now };
  const dir = join(root, name);
  await (await initLocalVault(dir, { name, blockSize: 4096 }, { clock })).close();
  const ports = await openLocalPorts(dir);
  const catalog = ports.catalog as SqliteCatalog;
  const store = { calls: 0 };
  const refs = { calls: 0 };
  const vault = await Vault.open(
    {
      ...ports.deps,
      clock,
      store: counting(ports.deps.store as ObjectStore, store),
      references: counting(catalog.references() as ReferenceStore, refs),
    },
    () => catalog.close(),
  );
  try {
    let n = 0;
    const backup = async (disk: string, bytes: Buffer) => {
      const path = join(root, `${name}-${n++}.img`);
      await writeFile(path, bytes);
      now += 60_000;
      return (await backupFile(vault, path, disk)).recoveryPointId;
    };
    for (let d = 0; d < otherDisks; d++) {
      await backup(`other-${d}`, seededBytes(100 + d, 4 * MIB));
      await backup(`other-${d}`, seededBytes(200 + d, 4 * MIB));
    }
    const first = await backup("x", seededBytes(1, MIB));
    await backup("x", seededBytes(2, MIB));
    await vault.deletePoint(first);
    now += 15 * DAY;
    await purgeExpired(vault.ctx);
    store.calls = 0;
    refs.calls = 0;
    const result = await vault.collectGarbage();
    expect(result.pointsReleased).toEqual([first]);
    expect(result.packsDeleted.length).toBeGreaterThan(0);
    return { store: store.calls, refs: refs.calls, bytesFreed: result.bytesFreed };
  } finally {
    await vault.close();
  }
}

describe("the work of a garbage collection", () => {
  it("follows what it releases, not the size of the vault", async () => {
    const small = await collectionWork("small", 0);
    const large = await collectionWork("large", 6);
    expect(large.bytesFreed).toBe(small.bytesFreed);
    // Six more disks, twelve more points and 48 MiB more data change neither count.
    expect(large.store).toBe(small.store);
    expect(large.refs).toBe(small.refs);
  });
});

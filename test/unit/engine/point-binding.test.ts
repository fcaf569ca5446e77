import { randomBytes } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { deriveVaultSecrets } from "../../../lib/engine/keys/keys.ts";
import { loadRoot, writeRoot } from "../../../lib/engine/points/manifest.ts";
import { verifyPointRoot } from "../../../lib/engine/points/point-binding.ts";
import { manifestKey } from "../../../lib/engine/store/layout.ts";
import { putMetadata } from "../../../lib/engine/store/metadata-object.ts";
import type { VaultContext } from "../../../lib/engine/store/vault-config.ts";
import { IntegrityError } from "../../../lib/errors.ts";
import { Consistency, PointState, type RecoveryPointRecord, Tier } from "../../../lib/model.ts";
import type { Catalog } from "../../../lib/ports/catalog.ts";
import { MemoryObjectStore } from "../../helpers/memory-object-store.ts";

const secrets = deriveVaultSecrets(randomBytes(32), "vault-1");
const BLOCK = 4096;
let store: MemoryObjectStore;
let rows: RecoveryPointRecord[];

beforeEach(() => {
  store = new MemoryObjectStore();
  rows = [];
});

/** A vault context over the memory store and `rows`; `boundRoots` as its config says. */
function context(boundRoots: boolean): VaultContext {
  const catalog = {
    listRecoveryPoints: async (_v: string, disk?: string) => rows.filter((r) => !disk || r.disk === disk),
  } as unknown as Catalog;
  return {
    deps: { store, catalog, keys: undefined as never, clock: { now: () => 0 } },
    config: { vaultId: "vault-1", blockSize: BLOCK, ...(boundRoots ? { boundRoots: true } : {}) } as never,
    secrets,
  };
}

function row(id: string, created: number, manifest: string, over: Partial<RecoveryPointRecord> = {}) {
  const r: RecoveryPointRecord = {
    id,
    vaultId: "vault-1",
    disk: "vm1",
    created,
    parent: null,
    consistency: Consistency.Crash,
    logicalSize: BLOCK,
    bytesStored: 1,
    manifest,
    tier: Tier.Snapshot,
    state: PointState.Available,
    ...over,
  };
  rows.push(r);
  return r;
}

const fields = { vault: "vault-1", disk: "vm1", logicalSize: BLOCK, blockSize: BLOCK, segmentBlocks: 4 };

/** A root as releases before version 2 wrote it: naming no point. */
function writeUnboundRoot(): Promise<string> {
  const json = JSON.stringify({ ...fields, sourceFormat: "raw", segments: [null] });
  return putMetadata(store, secrets, manifestKey, Buffer.from(`BVRT\x01${json}`));
}

function writeBoundRoot(point: string, created: number, parent: string | null = null): Promise<string> {
  return writeRoot(store, secrets, {
    ...fields,
    sourceFormat: "raw",
    segments: [null],
    point,
    parent,
    created,
  });
}

async function verdict(ctx: VaultContext, point: RecoveryPointRecord): Promise<string> {
  const root = await loadRoot(store, secrets, point.manifest);
  return verifyPointRoot(ctx, point, root).then(
    () => "trusted",
    (err: unknown) => {
      expect(err).toBeInstanceOf(IntegrityError);
      return (err as Error).message;
    },
  );
}

describe("root manifests bound to their recovery point", () => {
  it("a bound root is trusted for its own row, refused for any field of the row changed", async () => {
    const ctx = context(true);
    const own = row("p2", 200, await writeBoundRoot("p2", 200, "p1"), { parent: "p1" });
    expect(await verdict(ctx, own)).toBe("trusted");
    const changes: [Partial<RecoveryPointRecord>, RegExp][] = [
      [{ id: "p3" }, /recovery point p3: .*belongs to recovery point p2/],
      [{ vaultId: "vault-2" }, /catalog's vault \(vault-2\)/],
      [{ disk: "vm2" }, /catalog's disk \(vm2\) does not match its manifest's \(vm1\)/],
      [{ logicalSize: BLOCK - 1 }, /catalog's logical size \(4095\)/],
      [{ parent: null }, /catalog's parent \(null\) does not match its manifest's \(p1\)/],
      [{ created: 201 }, /catalog's creation time \(201\) does not match its manifest's \(200\)/],
    ];
    for (const [change, message] of changes)
      expect(await verdict(ctx, { ...own, ...change })).toMatch(message);
  });

  it("a vault created with bound roots trusts no version 1 root", async () => {
    const legacy = row("p1", 100, await writeUnboundRoot());
    expect(await verdict(context(true), legacy)).toMatch(
      /names no recovery point, and this vault only ever wrote/,
    );
  });

  it("an older vault trusts a version 1 root for a row dated before its disk's first bound root, and no later", async () => {
    const ctx = context(false);
    const unbound = await writeUnboundRoot();
    const legacy = row("p1", 100, unbound);
    // Before any bound backup of the disk, nothing contradicts the row.
    expect(await verdict(ctx, legacy)).toBe("trusted");
    row("p2", 200, await writeBoundRoot("p2", 200, "p1"), { parent: "p1" });
    expect(await verdict(ctx, legacy)).toBe("trusted");
    // A newer point's row pointed at the old root (a catalog editor relabelling old data as new).
    const relabelled = row("p3", 300, unbound, { parent: "p2" });
    expect(await verdict(ctx, relabelled)).toMatch(
      /p3: .*dates the point at or after disk "vm1"'s first manifest/,
    );
    // The editor cannot move the horizon by changing the bound point's row: its root keeps its time.
    rows[1] = { ...rows[1]!, created: 400 };
    expect(await verdict(ctx, relabelled)).toMatch(/at or after/);
    // Nor use a version 1 root whose own fields disagree with the row.
    expect(await verdict(ctx, { ...legacy, logicalSize: 2 * BLOCK })).toMatch(/logical size/);
  });
});

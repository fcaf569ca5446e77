import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SYSTEM_PRINCIPAL } from "../../lib/app/system.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import { gatedCatalog, gatedReferences } from "../../lib/decorators/gated-writer.ts";
import { copyRef } from "../../lib/engine/copy/point-source.ts";
import { AccessDeniedError } from "../../lib/errors.ts";
import { JobStatus, JobType, PointState } from "../../lib/model.ts";
import type { Catalog } from "../../lib/ports/catalog.ts";
import { retainKeptCopies } from "../../lib/rules/copy-retention.ts";
import { writerGate } from "../../lib/rules/writer-gate/gate.ts";
import { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile, restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const DAY_MS = 24 * 60 * 60 * 1000;
const SIZE = 200_000;

let root: string;
let source: Vault;
/** The destination with every right: what its own account's roles see. */
let owner: Vault;
/** The destination as a copy from another account writes it: reads itself, writes through the gate. */
let writer: Vault;
let catalog: Catalog;
let image: string;

beforeEach(async () => {
  root = await tempDir("copy-gated");
  source = await initLocalVault(join(root, "source"), { name: "primary", blockSize: 4096 });
  owner = await initLocalVault(join(root, "dr"), { name: "dr", blockSize: 4096 });
  const deps = owner.ctx.deps;
  const gate = writerGate({ catalog: deps.catalog, references: deps.references! });
  writer = (
    await Vault.open({
      ...deps,
      catalog: gatedCatalog(deps.catalog, gate),
      references: gatedReferences(deps.references!, gate),
    })
  ).as(SYSTEM_PRINCIPAL);
  catalog = writer.ctx.deps.catalog;
  image = join(root, "disk.img");
  await writeFile(image, seededBytes(8, SIZE));
});

afterEach(async () => {
  await writer.close();
  await owner.close();
  await source.close();
  await removeDir(root);
});

async function copyNewest(retainDays?: number): Promise<string> {
  const point = (await backupFile(source, image, "web")).recoveryPointId;
  const copy = await source.copyPoint(point, writer, retainDays === undefined ? {} : { retainDays });
  return copy.recoveryPointId;
}

describe("a copy written through the destination's gate (a write-only copy role)", () => {
  it("lands full and incremental, kept for its days, restorable with the destination's own rights", async () => {
    const first = await copyNewest(30);
    const changed = seededBytes(8, SIZE);
    changed.fill(0x5a, 50_000, 52_000);
    await writeFile(image, changed);
    const second = await copyNewest(30);
    const copies = await owner.listPoints("web");
    expect(copies.map((c) => c.id)).toEqual([second, first]);
    expect(copies[0]!.parent).toBe(first);
    for (const copy of copies) expect(copy.retainUntil).toBe(copy.created + 30 * DAY_MS);
    expect(await restoreBytes(owner, second, root)).toEqual(changed);
    expect((await owner.ctx.deps.catalog.getDisk(owner.id, "web")).policy).toBeUndefined();
    // The destination's own expiry run holds what the copies need (the writer may not).
    expect(await retainKeptCopies(owner.ctx)).toBe(2);
    expect((await owner.check({ readData: true })).ok).toBe(true);
  });

  it("cannot delete, shorten, redirect or take over anything the destination holds", async () => {
    const id = await copyNewest(30);
    const copy = await owner.getPoint(id);
    await owner.createPolicy({
      name: "daily",
      schedule: { kind: "daily", times: ["01:00"] },
      timeZone: "UTC",
      retention: { daily: { days: 7 } },
      snapshotRetentionDays: 2,
    });
    const job = {
      id: "forged",
      vaultId: owner.id,
      type: JobType.Backup,
      status: JobStatus.Running,
      disk: "web",
      started: Date.now(),
      bytesScanned: 0,
      bytesChanged: 0,
      bytesStored: 0,
      attempts: 1,
      detail: { copyOf: copyRef(source.id, "p") },
    };
    const denied = [
      () => catalog.updateRecoveryPoint(owner.id, id, { state: PointState.SoftDeleted }),
      () => catalog.updateRecoveryPoint(owner.id, id, { retainUntil: copy.retainUntil! - 1 }),
      () => catalog.updateRecoveryPoint(owner.id, id, { retainUntil: copy.created + 40_000 * DAY_MS }),
      () => catalog.updateRecoveryPoint(owner.id, id, { retainUntil: undefined }),
      () => catalog.createJob({ ...job, id: "restore", type: JobType.Restore }),
      () => catalog.createJob({ ...job, id: "not-a-copy", detail: {} }),
      () => catalog.putDisk({ vaultId: owner.id, name: "new", created: 1, size: 1, source: "x" }),
      () =>
        catalog.putDisk({
          vaultId: owner.id,
          name: "web",
          created: 1,
          size: SIZE,
          source: "x",
          policy: "daily",
        }),
      () => writer.deletePoint(id),
    ];
    for (const attempt of denied) await expect(attempt()).rejects.toBeInstanceOf(AccessDeniedError);
    // A disk the destination's own policy protects takes no copies.
    await owner.ctx.deps.catalog.putDisk({
      ...(await owner.ctx.deps.catalog.getDisk(owner.id, "web")),
      policy: "daily",
    });
    await expect(catalog.createJob(job)).rejects.toThrow(/which policy daily protects/);
    const after = await owner.getPoint(id);
    expect(after).toMatchObject({ state: PointState.Available, retainUntil: copy.retainUntil });
    expect(await restoreBytes(owner, id, root)).toEqual(seededBytes(8, SIZE));
  });
});

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { SYSTEM_PRINCIPAL } from "../../lib/app/system.ts";
import { initAwsVault, openAwsVault } from "../../lib/compose/aws.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import { gatedCatalog, gatedReferences } from "../../lib/decorators/gated-writer.ts";
import { AccessDeniedError, AlreadyExistsError, ValidationError } from "../../lib/errors.ts";
import { AuditOutcome, JobStatus, JobType, PointState, type RecoveryPointRecord } from "../../lib/model.ts";
import type { Catalog } from "../../lib/ports/catalog.ts";
import type { ReferenceStore } from "../../lib/ports/references.ts";
import { writerGate } from "../../lib/rules/writer-gate/gate.ts";
import { resultOf } from "../../lib/rules/writer-gate/wire.ts";
import { Vault } from "../../lib/vault.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { restoreBytes } from "../helpers/vault-ops.ts";

const policy = {
  name: "daily",
  schedule: { kind: "daily", times: ["01:00"] },
  timeZone: "UTC",
  retention: { daily: { days: 30 } },
  snapshotRetentionDays: 2,
};

/** A vault with full rights, and the same vault opened as the snapshot writer behind a gate. */
interface GatedVault {
  readonly owner: Vault;
  readonly writer: Vault;
}

const BACKENDS: readonly (readonly [string, (root: string) => Promise<GatedVault>])[] = [
  [
    "embedded",
    async (root) => {
      const owner = await initLocalVault(join(root, "vault"), { name: "gate", blockSize: 4096 });
      const deps = owner.ctx.deps;
      const gate = writerGate({ catalog: deps.catalog, references: deps.references! });
      const writer = await Vault.open({
        ...deps,
        catalog: gatedCatalog(deps.catalog, gate),
        references: gatedReferences(deps.references!, gate),
      });
      return { owner, writer: writer.as(SYSTEM_PRINCIPAL) };
    },
  ],
  [
    "emulator",
    async () => {
      const where = { bucket: uniqueName("gate"), table: uniqueName("gate"), aws: emulatorConfig() };
      const owner = await initAwsVault(where, { name: uniqueName("gate"), blockSize: 4096 });
      const deps = owner.ctx.deps;
      const writerGateOnAws = writerGate({ catalog: deps.catalog, references: deps.references! });
      const writer = await openAwsVault({ ...where, writerGate: writerGateOnAws });
      return { owner, writer: writer.as(SYSTEM_PRINCIPAL) };
    },
  ],
];

let root: string;
let owner: Vault;
let full: Catalog;
let refs: ReferenceStore;
/** The writer: reads its own ports, writes through the gate. */
let writer: Vault;
let catalog: Catalog;
let references: ReferenceStore;
let image: string;

afterEach(async () => {
  await writer.close();
  await owner.close();
  await removeDir(root);
});

/** Queues a backup job the way the scheduler does, then runs it as the snapshot writer. */
async function scheduledBackup(jobId: string): Promise<string> {
  await full.createJob({
    id: jobId,
    vaultId: owner.id,
    type: JobType.Backup,
    status: JobStatus.Queued,
    disk: "web",
    started: Date.now(),
    bytesScanned: 0,
    bytesChanged: 0,
    bytesStored: 0,
    attempts: 0,
  });
  const source = await openFileSource(image);
  try {
    return (await writer.backup(source, { disk: "web", job: { id: jobId, attempt: 1 } })).recoveryPointId;
  } finally {
    await source.close();
  }
}

describe.each(BACKENDS)("the snapshot writer behind the gate, on the %s vault", (_name, open) => {
  beforeEach(async () => {
    root = await tempDir("writer-gate");
    ({ owner, writer } = await open(root));
    full = owner.ctx.deps.catalog;
    refs = owner.ctx.deps.references!;
    catalog = writer.ctx.deps.catalog;
    references = writer.ctx.deps.references!;
    image = join(root, "disk.img");
    await writeFile(image, seededBytes(5, 300_000));
    await owner.createPolicy(policy);
    const source = await openFileSource(image);
    await owner.protect(source, "web", "daily").finally(() => source.close());
  });

  it("backs up, full and incremental, with every write made by the gate; the points restore", async () => {
    const first = await scheduledBackup("job-1");
    const changed = seededBytes(5, 300_000);
    changed.fill(0xaa, 40_000, 50_000);
    await writeFile(image, changed);
    const second = await scheduledBackup("job-2");
    expect((await full.getRecoveryPoint(owner.id, second)).parent).toBe(first);
    expect((await full.getJob(owner.id, "job-2")).status).toBe(JobStatus.Completed);
    expect(await restoreBytes(owner, second, root)).toEqual(changed);
    expect((await owner.check({ readData: true })).ok).toBe(true);
  });

  it("cannot change a committed point, a finished job, the settings, a policy or a disk", async () => {
    const id = await scheduledBackup("job-1");
    const point = await full.getRecoveryPoint(owner.id, id);
    const settings = await full.getSettings(owner.id);
    const disk = await full.getDisk(owner.id, "web");
    const job = await full.getJob(owner.id, "job-1");
    // Thunks, so that each refusal is awaited as it is made (none goes unhandled meanwhile).
    const denied = [
      () => catalog.updateRecoveryPoint(owner.id, id, { state: PointState.Purged }),
      () => catalog.commitRecoveryPoint({ ...point, manifest: "x" }, point.parent),
      () => catalog.updateJob(owner.id, "job-1", { status: JobStatus.Failed }),
      () => catalog.putSettings({ ...settings, softDeleteDays: 14 }, settings.version),
      () => catalog.deletePolicy(owner.id, "daily", 1),
      () => catalog.putDisk({ ...disk, policy: undefined }),
      () => catalog.putDisk({ ...disk, name: "new-disk" }),
      () => catalog.createJob({ ...job, id: "job-x", type: JobType.Purge }),
      () =>
        catalog.appendAudit({
          vaultId: owner.id,
          at: 1,
          principal: "alice",
          action: "point.delete",
          outcome: AuditOutcome.Succeeded,
        }),
    ];
    for (const attempt of denied) await expect(attempt()).rejects.toThrow(AccessDeniedError);
    expect(await full.getRecoveryPoint(owner.id, id)).toEqual(point);
    expect((await full.getJob(owner.id, "job-1")).status).toBe(JobStatus.Completed);
    expect((await full.getDisk(owner.id, "web")).policy).toBe("daily");
    expect(await restoreBytes(owner, id, root)).toEqual(seededBytes(5, 300_000));
  });

  it("cannot commit a point no running backup is taking, nor overwrite one", async () => {
    const id = await scheduledBackup("job-1");
    const point = await full.getRecoveryPoint(owner.id, id);
    const forged: RecoveryPointRecord = { ...point, id: "forged", parent: id };
    await expect(catalog.commitRecoveryPoint(forged, id)).rejects.toThrow(/no running backup/);
    await expect(catalog.commitRecoveryPoint({ ...point, retainUntil: 1 }, null)).rejects.toThrow(
      AccessDeniedError,
    );
    await full.createJob({
      ...(await full.getJob(owner.id, "job-1")),
      id: "job-2",
      status: JobStatus.Running,
    });
    await full.updateJob(owner.id, "job-2", { detail: { pendingPoint: id } });
    await expect(catalog.commitRecoveryPoint(point, null)).rejects.toThrow(AlreadyExistsError);
    await expect(catalog.listRecoveryPoints(owner.id, "web")).resolves.toHaveLength(1);
  });

  it("cannot give back a committed point's holds, condemn or drop packs, or take the collector's lease", async () => {
    const id = await scheduledBackup("job-1");
    const packs = (await refs.listUnheldPacks(owner.id, Date.now() + 1)).map((p) => p.id);
    const segment = (await full.getRecoveryPoint(owner.id, id)).manifest;
    const denied = [
      () => references.releaseSegment(owner.id, segment, [`web/0/${id}`]),
      () => references.condemnPack(owner.id, packs[0] ?? "p", Date.now()),
      () => references.dropPack(owner.id, packs[0] ?? "p"),
      () => references.releasePack(owner.id, packs[0] ?? "p", []),
      () => references.setPointRelease(owner.id, id, "releasing"),
      () => references.acquireLease(owner.id, "garbage-collection", "me", Date.now() + 60_000, Date.now()),
    ];
    for (const attempt of denied) await expect(attempt()).rejects.toThrow(AccessDeniedError);
    expect(await restoreBytes(owner, id, root)).toEqual(seededBytes(5, 300_000));
    expect((await owner.check({ readData: true })).ok).toBe(true);
  });

  it("answers a malformed call with a refusal naming what is wrong", async () => {
    const gate = writerGate({ catalog: full, references: refs });
    await expect(gate.submit("{]").then(resultOf)).rejects.toThrow(ValidationError);
    await expect(gate.submit('{"port":"keys","method":"x","args":[]}').then(resultOf)).rejects.toThrow(
      /expected \{ port, method, args \}/,
    );
  });
});

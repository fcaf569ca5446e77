import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import { FsObjectArchive } from "../../lib/adapters/local/fs-object-archive.ts";
import { FsObjectStore } from "../../lib/adapters/local/fs-object-store.ts";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { openFileTarget } from "../../lib/adapters/local/targets/file-target.ts";
import type { AppContext } from "../../lib/app/app-context.ts";
import { type ExecutionOutcome, LocalWorkflows } from "../../lib/app/local-workflows.ts";
import { initLocalVault, localVaultPaths } from "../../lib/compose/local.ts";
import { type JobRecord, JobStatus, JobType } from "../../lib/model.ts";
import type { Alert } from "../../lib/ports/alerts.ts";
import type { ObjectArchive } from "../../lib/ports/object-archive.ts";
import { Machine } from "../../lib/ports/workflows.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile } from "../helpers/vault-ops.ts";

export const DAY = 24 * 60 * 60 * 1000;
export const SIZE = 256 * 1024;
/** A disk image of SIZE bytes; different seeds share no block. */
export const image = (seed: number) => seededBytes(seed, SIZE);

/** Archives points 90 days old; monthly retention makes an archive tier reachable. */
const policy = {
  name: "archiving",
  schedule: { kind: "daily", times: ["01:00"] },
  timeZone: "UTC",
  retention: { daily: { days: 7 }, monthly: { months: 12, day: 1 } },
  snapshotRetentionDays: 2,
  archive: { afterDays: 90 },
};

/**
 * An embedded vault, the app the state machines run against (recording alerts, file targets,
 * the local archive) and the real ASL runner with Wait states and retry pauses shortened to 0.
 * The clock is the real one moved forward by `offset`, so archive restore delays still elapse.
 */
export class Fixture {
  root = "";
  vault!: Vault;
  offset = 0;
  readonly clock = { now: () => Date.now() + this.offset };
  alerts: Alert[] = [];
  workflows!: LocalWorkflows;
  /** The archive over the vault's objects (restores ready at once). */
  archive!: ObjectArchive;

  /** When set, the app's vault fails to open with it (the lifecycle function cannot work). */
  #vaultError: Error | undefined;

  /** Makes every task that opens the vault fail with `err` from now on. */
  breakVault(err: Error): void {
    this.#vaultError = err;
  }

  /** Rebuilds the app on `archive` (e.g. one with a restore delay, or a faulty one). */
  useArchive(archive: ObjectArchive): void {
    this.#vaultError = undefined;
    const app: AppContext = {
      vault: async () => {
        if (this.#vaultError) throw this.#vaultError;
        return this.vault;
      },
      queue: { send: async () => {} },
      workflows: new LocalWorkflows({ app: () => app, waitMs: 0, retryIntervalMs: 0 }),
      alerts: { publish: async (alert) => void this.alerts.push(alert) },
      openSource: (path) => openFileSource(path),
      openTarget: (spec, size) =>
        spec.kind === "file" ? openFileTarget(spec.path, size, spec) : Promise.reject(new Error(spec.kind)),
      archive,
    };
    this.workflows = app.workflows as LocalWorkflows;
  }

  /** The local archive whose restores take `ms` to complete. */
  archiveWithDelay(ms: number): FsObjectArchive {
    const objects = localVaultPaths(join(this.root, "vault")).objects;
    return new FsObjectArchive(new FsObjectStore(objects), { clock: this.clock, restoreDelayMs: () => ms });
  }

  async backup(disk: string, bytes: Buffer): Promise<string> {
    const path = join(this.root, `${disk}.img`);
    await writeFile(path, bytes);
    return (await backupFile(this.vault, path, disk)).recoveryPointId;
  }

  async run(
    machine: Machine,
    input: Record<string, unknown>,
    name = randomUUID(),
  ): Promise<ExecutionOutcome> {
    const { executionId } = await this.workflows.start(machine, name, input);
    return this.workflows.wait(executionId);
  }

  /** Queues a restore job as the API does, then runs the restore machine for it into a new file. */
  async restoreJob(pointId: string, extra: Record<string, unknown> = {}) {
    const jobId = randomUUID();
    await this.vault.ctx.deps.catalog.createJob({
      ...{ id: jobId, vaultId: this.vault.id, type: JobType.Restore, status: JobStatus.Queued },
      ...{ started: this.clock.now(), bytesScanned: 0, bytesChanged: 0, bytesStored: 0, attempts: 0 },
    });
    const path = join(this.root, `restored-${jobId}.img`);
    const target = { kind: "file", path };
    const outcome = await this.run(Machine.Restore, { jobId, pointId, target, ...extra }, jobId);
    const job: JobRecord = await this.vault.ctx.deps.catalog.getJob(this.vault.id, jobId);
    return { outcome, path, job };
  }

  /** The storage class of every pack in the vault, sorted. */
  async packClasses(): Promise<string[]> {
    const classes: string[] = [];
    for await (const info of this.vault.ctx.deps.store.list("packs/")) {
      classes.push(await this.archive.storageClass(info.key));
    }
    return classes.sort();
  }

  /**
   * Disk "a": one point (A1) whose pack no other point uses. Disk "b": B1, and B2 ten days later
   * sharing most of B1's blocks, hence its pack. 95 days on, A1 and B1 are old enough to archive.
   */
  async tierScenario() {
    await this.vault.createPolicy(policy);
    const a1 = await this.backup("a", image(1));
    const b1 = await this.backup("b", image(2));
    for (const disk of ["a", "b"]) {
      const source = await openFileSource(join(this.root, `${disk}.img`));
      await this.vault.protect(source, disk, "archiving").finally(() => source.close());
    }
    this.offset += 10 * DAY;
    const changed = Buffer.from(image(2));
    image(3).copy(changed, 0, 0, 64 * 1024);
    const b2 = await this.backup("b", changed);
    this.offset += 85 * DAY;
    return { a1, b1, b2 };
  }
}

/** A fresh {@link Fixture} for every test of the calling file. */
export function useFixture(): Fixture {
  const f = new Fixture();
  beforeEach(async () => {
    f.root = await tempDir("statemachines");
    f.offset = Date.parse("2026-01-01T00:30:00Z") - Date.now();
    f.alerts = [];
    f.vault = await initLocalVault(
      join(f.root, "vault"),
      { name: "sm", blockSize: 4096 },
      { clock: f.clock },
    );
    f.archive = f.archiveWithDelay(0);
    f.useArchive(f.archive);
  });
  afterEach(async () => {
    await f.workflows.idle();
    await f.vault.close();
    await removeDir(f.root);
  });
  return f;
}

import { type BackupOptions, type BackupResult, runBackup, validateDiskName } from "./engine/backup.ts";
import { type CheckReport, checkVault } from "./engine/check.ts";
import { type ReclaimOptions, type ReclaimResult, reclaimOrphans } from "./engine/reclaim.ts";
import {
  type RestoreOptions,
  type RestoreResult,
  restorablePoint,
  runRestore,
  validateRange,
} from "./engine/restore.ts";
import {
  type InitOptions,
  initVault,
  openVault,
  type VaultContext,
  type VaultDeps,
} from "./engine/vault-config.ts";
import { NotFoundError } from "./errors.ts";
import type { DiskRecord, JobRecord, RecoveryPointRecord, VaultSettings } from "./model.ts";
import type { JobQuery } from "./ports/catalog.ts";
import type { RestoreTarget } from "./ports/restore-target.ts";
import type { VolumeSource } from "./ports/volume-source.ts";
import { type LockPreview, lockPreview, setLock, setSoftDelete } from "./rules/lock.ts";
import { createPolicy, getPolicy, listPolicies, type StoredPolicy, updatePolicy } from "./rules/policies.ts";
import { protect } from "./rules/protect.ts";
import { type DueReport, runDue } from "./rules/run-due.ts";
import { softDelete, undelete } from "./rules/soft-delete.ts";
import { openFileTarget } from "./targets/file-target.ts";

/** Options of {@link Vault.restoreToFile}. */
export interface FileRestoreOptions extends RestoreOptions {
  /** Replace an existing file at the target path. */
  readonly force?: boolean;
}

/**
 * A vault: the product's front door, used by the CLI, the Lambda handlers and the embedded
 * server alike. It runs on whatever ports it is given (local files, or AWS).
 */
export class Vault {
  readonly ctx: VaultContext;
  private readonly onClose: () => Promise<void>;

  private constructor(ctx: VaultContext, onClose: () => Promise<void>) {
    this.ctx = ctx;
    this.onClose = onClose;
  }

  /** Creates a new vault on empty ports. */
  static async init(
    deps: VaultDeps,
    options: InitOptions,
    onClose: () => Promise<void> = async () => {},
  ): Promise<Vault> {
    return new Vault(await initVault(deps, options), onClose);
  }

  /** Opens an existing vault. */
  static async open(deps: VaultDeps, onClose: () => Promise<void> = async () => {}): Promise<Vault> {
    return new Vault(await openVault(deps), onClose);
  }

  get id(): string {
    return this.ctx.config.vaultId;
  }

  get name(): string {
    return this.ctx.config.name;
  }

  /** Backs up `source` as a new recovery point of `options.disk`. */
  backup(source: VolumeSource, options: BackupOptions): Promise<BackupResult> {
    return runBackup(this.ctx, source, options);
  }

  /** Restores a recovery point into any target. */
  async restore(
    pointId: string,
    target: RestoreTarget,
    options: RestoreOptions = {},
  ): Promise<RestoreResult> {
    const point = await restorablePoint(this.ctx, pointId);
    return runRestore(this.ctx, point, target, options);
  }

  /**
   * Restores a recovery point into a new file at `path`: refuses an existing file unless
   * `force`, and refuses the disk's own source always.
   */
  async restoreToFile(
    pointId: string,
    path: string,
    options: FileRestoreOptions = {},
  ): Promise<RestoreResult> {
    const point = await restorablePoint(this.ctx, pointId);
    const range = validateRange(options.range, point.logicalSize);
    // Only a disk without a record has no source to protect; any other failure must stop the
    // restore, or a forced restore could overwrite the very image the disk is backed up from.
    const disk = await this.ctx.deps.catalog.getDisk(this.id, point.disk).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    const target = await openFileTarget(path, range.length, {
      force: options.force ?? false,
      protectedPaths: disk ? [disk.source] : [],
    });
    return runRestore(this.ctx, point, target, options);
  }

  /** Recovery points, newest first, of one disk or all. */
  listPoints(disk?: string): Promise<RecoveryPointRecord[]> {
    if (disk !== undefined) validateDiskName(disk);
    return this.ctx.deps.catalog.listRecoveryPoints(this.id, disk);
  }

  getPoint(id: string): Promise<RecoveryPointRecord> {
    return restorablePoint(this.ctx, id);
  }

  listDisks(): Promise<DiskRecord[]> {
    return this.ctx.deps.catalog.listDisks(this.id);
  }

  listJobs(query?: JobQuery): Promise<JobRecord[]> {
    return this.ctx.deps.catalog.listJobs(this.id, query);
  }

  /** Checks that every point is restorable; with `readData`, verifies every stored blob too. */
  check(options: { readData?: boolean } = {}): Promise<CheckReport> {
    return checkVault(this.ctx, options);
  }

  /** Deletes objects interrupted backups left behind (see {@link reclaimOrphans}). */
  reclaim(options: ReclaimOptions = {}): Promise<ReclaimResult> {
    return reclaimOrphans(this.ctx, options);
  }

  /** Creates a backup policy from untrusted input (validated; errors name the field). */
  createPolicy(input: unknown): Promise<StoredPolicy> {
    return createPolicy(this.ctx, input);
  }

  /** Replaces a policy's definition; it applies to existing points at the next evaluation. */
  updatePolicy(name: string, input: unknown): Promise<StoredPolicy> {
    return updatePolicy(this.ctx, name, input);
  }

  getPolicy(name: string): Promise<StoredPolicy> {
    return getPolicy(this.ctx, name);
  }

  listPolicies(): Promise<StoredPolicy[]> {
    return listPolicies(this.ctx);
  }

  /** Puts a disk under a policy (see {@link protect}). */
  protect(source: VolumeSource, disk: string, policy: string): Promise<DiskRecord> {
    return protect(this.ctx, source, disk, policy);
  }

  /** Soft-deletes a recovery point: restorable and undeletable until the period ends. */
  deletePoint(id: string): Promise<RecoveryPointRecord> {
    return softDelete(this.ctx, id);
  }

  undeletePoint(id: string): Promise<RecoveryPointRecord> {
    return undelete(this.ctx, id);
  }

  /** Evaluates every policy against the clock (see {@link runDue}). */
  runDue(open: (path: string) => Promise<VolumeSource>): Promise<DueReport> {
    return runDue(this.ctx, open);
  }

  /** The vault's rule settings (soft delete, lock). */
  settings(): Promise<VaultSettings> {
    return this.ctx.deps.catalog.getSettings(this.id);
  }

  /** Which points a lock would make undeletable, until when, and the storage committed. */
  lockPreview(): Promise<LockPreview> {
    return lockPreview(this.ctx);
  }

  /** Enables the lock (from unlocked) or locks the vault for good (from enabled). */
  setLock(target: "enabled" | "locked"): Promise<VaultSettings> {
    return setLock(this.ctx, target);
  }

  /** Changes the soft-delete period (14 to 180 days) or makes soft delete always-on (final). */
  setSoftDelete(change: { days?: number; alwaysOn?: boolean }): Promise<VaultSettings> {
    return setSoftDelete(this.ctx, change);
  }

  close(): Promise<void> {
    return this.onClose();
  }
}

import type { BackupOptions, BackupResult } from "./engine/backup/backup.ts";
import { validateDiskName } from "./engine/backup/disk-name.ts";
import type { CheckReport } from "./engine/check/check.ts";
import type { CollectOptions, CollectResult } from "./engine/gc/collect.ts";
import type { ReclaimOptions, ReclaimResult } from "./engine/gc/reclaim.ts";
import { abandonDeadJobs } from "./engine/jobs/dead-jobs.ts";
import type { PointReader, PointReaderOptions } from "./engine/read/point-reader.ts";
import {
  abortingOnFailure,
  type RestoreOptions,
  type RestoreResult,
  restorablePoint,
  runRestore,
  validateRange,
} from "./engine/restore/restore.ts";
import {
  type InitOptions,
  initVault,
  openVault,
  type VaultContext,
  type VaultDeps,
} from "./engine/store/vault-config.ts";
import type { VmBackupDeps, VmBackupResult } from "./engine/vm/backup-vm.ts";
import {
  AccessDeniedError,
  ApprovalMismatchError,
  ApprovalRequiredError,
  ConflictError,
  NotFoundError,
  ValidationError,
} from "./errors.ts";
import type { PointFiles } from "./files/point-files.ts";
import {
  type ApprovalRecord,
  type AuditEntry,
  AuditOutcome,
  type DiskRecord,
  type JobRecord,
  type RecoveryPointRecord,
  type RestoreFormat,
  type VaultSettings,
  type VmPointRecord,
  type VmRecord,
} from "./model.ts";
import type { ApprovalQuery, AuditQuery, JobQuery } from "./ports/catalog.ts";
import type { KeyRotation } from "./ports/key-service.ts";
import type { PrincipalRecord } from "./ports/principals.ts";
import type { SnapshotRequest } from "./ports/queue.ts";
import type { RestoreTarget } from "./ports/restore-target.ts";
import type { VolumeSource } from "./ports/volume-source.ts";
import {
  type ApprovalStatus,
  type ApprovalView,
  approvalViews,
  storedStateOf,
} from "./rules/approval-view.ts";
import type { Actor } from "./rules/approvals.ts";
import type { CopyOptions, CopyResult } from "./rules/copy.ts";
import type { LockPreview } from "./rules/lock.ts";
import type { StoredPolicy } from "./rules/policies.ts";
import type { AddedPrincipal, NewPrincipal } from "./rules/principals.ts";
import { authorize, Operation, OWNER, type Principal } from "./rules/roles.ts";
import type { DueReport } from "./rules/run-due.ts";
import type { VmRestoreResult } from "./rules/vm-restore.ts";
import type { VmDue } from "./rules/vm-schedule.ts";
import type { VmDefinition } from "./rules/vms.ts";
import { restoreFormat } from "./util/restore-format.ts";

/*
 * Operations other than restoring and listing load their modules on first use, so a restore or
 * a backup from the CLI starts sooner; a long-running server loads each once. See
 * docs/design.md, "Start-up".
 */
const modules = {
  backup: () => import("./engine/backup/backup.ts"),
  check: () => import("./engine/check/check.ts"),
  collect: () => import("./engine/gc/collect.ts"),
  reclaim: () => import("./engine/gc/reclaim.ts"),
  read: () => import("./engine/read/point-reader.ts"),
  files: () => import("./files/point-files.ts"),
  approvals: () => import("./rules/approvals.ts"),
  copy: () => import("./rules/copy.ts"),
  keyRotation: () => import("./rules/key-rotation.ts"),
  lock: () => import("./rules/lock.ts"),
  policies: () => import("./rules/policies.ts"),
  principals: () => import("./rules/principals.ts"),
  protect: () => import("./rules/protect.ts"),
  restoreDirectories: () => import("./rules/restore-directories.ts"),
  runDue: () => import("./rules/run-due.ts"),
  schedule: () => import("./rules/schedule.ts"),
  softDelete: () => import("./rules/soft-delete.ts"),
  vmBackup: () => import("./engine/vm/backup-vm.ts"),
  vmPoints: () => import("./rules/vm-points.ts"),
  vmRestore: () => import("./rules/vm-restore.ts"),
  vmSchedule: () => import("./rules/vm-schedule.ts"),
  vms: () => import("./rules/vms.ts"),
} as const;

/** What a reader of a point's files asks for, as the audit log records it. */
export interface FileAccess {
  /** `files.list`, `files.get`, `files.find`, `files.partitions` or `point.export`. */
  readonly action: string;
  readonly partition?: string;
  readonly path?: string;
}

/** Options of {@link Vault.restoreToFile}. */
export interface FileRestoreOptions extends RestoreOptions {
  /** Replace an existing file at the target path. */
  readonly force?: boolean;
  /** The file's format: the disk as is (default), a fixed VHD or qcow2; whole-disk restores only. */
  readonly format?: RestoreFormat;
}

/** The policy name inside untrusted input, for the audit log (validation comes later). */
function policyName(input: unknown): string | undefined {
  const name = (input as { name?: unknown } | null)?.name;
  return typeof name === "string" ? name.slice(0, 128) : undefined;
}

/** An approved request presented with a critical operation. */
export interface Approval {
  readonly approvalId?: string;
}

/**
 * A vault: the product's front door, used by the CLI, the Lambda handlers and the embedded
 * server alike. It runs on whatever ports it is given (local files, or AWS).
 */
export class Vault {
  readonly ctx: VaultContext;
  /** Who is calling: every operation checks this principal's roles. */
  readonly principal: Principal;
  private readonly onClose: () => Promise<void>;

  private constructor(ctx: VaultContext, onClose: () => Promise<void>, principal: Principal) {
    this.ctx = ctx;
    this.onClose = onClose;
    this.principal = principal;
  }

  /** The same vault, acting as another principal (the vault is shared, not copied). */
  as(principal: Principal): Vault {
    return new Vault(this.ctx, this.onClose, principal);
  }

  /** This vault's principal, presenting `approval` for a critical operation. */
  actor(approval?: Approval): Actor {
    return {
      principal: this.principal,
      ...(approval?.approvalId ? { approvalId: approval.approvalId } : {}),
    };
  }

  /** Throws AccessDeniedError unless this vault's principal may perform `operation`. */
  authorize(operation: Operation): void {
    authorize(this.principal, operation);
  }

  /**
   * Runs a mutating operation for the current principal and appends its outcome to the audit
   * log: refused (no role, or a rule said no), failed, or succeeded. A failure to write the
   * audit entry never changes the operation's own result.
   */
  async audited<T>(
    action: string,
    operation: Operation,
    target: string | undefined,
    run: () => Promise<T>,
    facts?: Record<string, string>,
    outcomeFacts?: (result: T) => Record<string, string>,
  ): Promise<T> {
    const record = (outcome: AuditOutcome, reason?: Record<string, string>) => {
      const detail = facts || reason ? { ...facts, ...reason } : undefined;
      return this.ctx.deps.catalog
        .appendAudit({
          vaultId: this.id,
          at: this.ctx.deps.clock.now(),
          principal: this.principal.name,
          action,
          outcome,
          ...(target !== undefined ? { target } : {}),
          ...(detail ? { detail } : {}),
        })
        .catch(() => undefined);
    };
    try {
      this.authorize(operation);
    } catch (err) {
      await record(AuditOutcome.Refused, { reason: (err as Error).message });
      throw err;
    }
    try {
      const result = await run();
      await record(AuditOutcome.Succeeded, outcomeFacts?.(result));
      return result;
    } catch (err) {
      const refused =
        err instanceof AccessDeniedError ||
        err instanceof ConflictError ||
        err instanceof ApprovalRequiredError ||
        err instanceof ApprovalMismatchError;
      await record(refused ? AuditOutcome.Refused : AuditOutcome.Failed, { error: (err as Error).message });
      throw err;
    }
  }

  /** The audit log, oldest first (reader role). */
  async listAudit(query?: AuditQuery): Promise<AuditEntry[]> {
    this.authorize(Operation.Read);
    return this.ctx.deps.catalog.listAudit(this.id, query);
  }

  /** Creates a new vault on empty ports. */
  static async init(
    deps: VaultDeps,
    options: InitOptions,
    onClose: () => Promise<void> = async () => {},
  ): Promise<Vault> {
    return new Vault(await initVault(deps, options), onClose, OWNER);
  }

  /** Opens an existing vault. */
  static async open(deps: VaultDeps, onClose: () => Promise<void> = async () => {}): Promise<Vault> {
    return new Vault(await openVault(deps), onClose, OWNER);
  }

  get id(): string {
    return this.ctx.config.vaultId;
  }

  get name(): string {
    return this.ctx.config.name;
  }

  /**
   * Backs up `source` as a new recovery point of `options.disk`; a disk under a policy then has
   * the retention ends that became final committed to its points.
   */
  async backup(source: VolumeSource, options: BackupOptions): Promise<BackupResult> {
    return this.audited("backup.run", Operation.Backup, options.disk, async () => {
      await this.refuseVmDisk(options.disk);
      const result = await (await modules.backup()).runBackup(this.ctx, source, options);
      // The point is committed: a failure from here on must not report the backup failed. The
      // policy still holds the point, and the next retention evaluation commits its end.
      const disk = await this.ctx.deps.catalog.getDisk(this.id, options.disk).catch(() => undefined);
      if (disk?.policy) {
        await (await modules.schedule()).commitDiskRetention(this.ctx, disk).catch(() => undefined);
      }
      return result;
    });
  }

  /** Refuses a backup of one disk of a VM on its own: its points are taken with the VM's. */
  private async refuseVmDisk(disk: string): Promise<void> {
    const vm = /^(.+)\.disk\d+$/.exec(disk)?.[1];
    if (vm === undefined) return;
    const record = await this.ctx.deps.catalog.getVm(this.id, vm).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    if (record?.disks.some((d) => d.disk === disk)) {
      throw new ConflictError(
        `disk ${disk} is a disk of VM ${vm}: back it up with the VM (blockvault backup --vm ${vm})`,
      );
    }
  }

  /** Restores a recovery point into any target. */
  async restore(
    pointId: string,
    target: RestoreTarget,
    options: RestoreOptions = {},
  ): Promise<RestoreResult> {
    return this.audited("restore.run", Operation.Restore, pointId, async () => {
      // The target is the engine's from here: a point that cannot be restored aborts it.
      const point = await abortingOnFailure(target, () => restorablePoint(this.ctx, pointId));
      return runRestore(this.ctx, point, target, options);
    });
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
    return this.audited("restore.run", Operation.Restore, pointId, async () => {
      const point = await restorablePoint(this.ctx, pointId);
      const range = validateRange(options.range, point.logicalSize);
      const format = restoreFormat(options.format, options.range !== undefined);
      // Only a disk without a record has no source to protect; any other failure must stop the
      // restore, or a forced restore could overwrite the very image the disk is backed up from.
      const disk = await this.ctx.deps.catalog.getDisk(this.id, point.disk).catch((err: unknown) => {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      });
      const files = this.ctx.deps.localFiles;
      if (!files) throw new ValidationError(`restore to ${path}: this runtime cannot write local files`);
      const target = await files.openFileTarget(path, range.length, {
        format,
        force: options.force ?? false,
        protectedPaths: disk ? [disk.source] : [],
        ...(this.ctx.deps.ownFiles ? { vaultFiles: this.ctx.deps.ownFiles } : {}),
      });
      return runRestore(this.ctx, point, target, options);
    });
  }

  /**
   * Opens random access to a recovery point's bytes (restore role, audited as a read of the
   * point): any byte range, verified block by block, without restoring the disk.
   */
  async openPointReader(pointId: string, options?: PointReaderOptions): Promise<PointReader> {
    return this.audited("point.read", Operation.Restore, pointId, async () => {
      const point = await restorablePoint(this.ctx, pointId);
      return (await modules.read()).openPointReader(this.ctx, point, options);
    });
  }

  /**
   * Opens the partitions and files of a recovery point (read-files, an operator right: it reads
   * the disk's data), audited as `access.action` with the partition and path asked for, so the
   * log says who read which file of which point. Close the result when done.
   */
  async openPointFiles(
    pointId: string,
    access: FileAccess,
    options?: PointReaderOptions,
  ): Promise<PointFiles> {
    const facts: Record<string, string> = {
      ...(access.partition !== undefined ? { partition: access.partition } : {}),
      ...(access.path !== undefined ? { path: access.path } : {}),
    };
    return this.audited(
      access.action,
      Operation.ReadFiles,
      pointId,
      async () => {
        const point = await restorablePoint(this.ctx, pointId);
        const [read, files] = await Promise.all([modules.read(), modules.files()]);
        return new files.PointFiles(await read.openPointReader(this.ctx, point, options));
      },
      facts,
    );
  }

  /**
   * Opens a reader of a recovery point for `blockvault export --nbd` (read-files, an operator
   * right), audited as `point.export` with the address it is served on.
   */
  async openPointExport(
    pointId: string,
    address: string,
    options?: PointReaderOptions,
  ): Promise<PointReader> {
    return this.audited(
      "point.export",
      Operation.ReadFiles,
      pointId,
      async () => {
        const point = await restorablePoint(this.ctx, pointId);
        return (await modules.read()).openPointReader(this.ctx, point, options);
      },
      { address },
    );
  }

  /**
   * Copies recovery point `pointId` into `destination`, another vault, as a point of its own there
   * (see rules/copy.ts). Reading the point out is a restore here (restore role), storing it a
   * backup there (the destination authorizes it as its caller); audited here as `point.copy`,
   * naming the destination vault and the copy.
   */
  async copyPoint(pointId: string, destination: Vault, options?: CopyOptions): Promise<CopyResult> {
    return this.audited(
      "point.copy",
      Operation.Restore,
      pointId,
      async () => (await modules.copy()).copyPoint(this, pointId, destination, options),
      { destinationVault: destination.id },
      (copy) => ({ destinationPoint: copy.recoveryPointId }),
    );
  }

  /** Recovery points, newest first, of one disk or all. */
  async listPoints(disk?: string): Promise<RecoveryPointRecord[]> {
    this.authorize(Operation.Read);
    if (disk !== undefined) validateDiskName(disk);
    return this.ctx.deps.catalog.listRecoveryPoints(this.id, disk);
  }

  async getPoint(id: string): Promise<RecoveryPointRecord> {
    this.authorize(Operation.Read);
    return restorablePoint(this.ctx, id);
  }

  async listDisks(): Promise<DiskRecord[]> {
    this.authorize(Operation.Read);
    return this.ctx.deps.catalog.listDisks(this.id);
  }

  /**
   * Lists jobs, first ending as abandoned those whose process died (no heartbeat for a liveness
   * window), so that none shows as running forever. A caller who may not write still sees the
   * list.
   */
  async listJobs(query?: JobQuery): Promise<JobRecord[]> {
    this.authorize(Operation.Read);
    await abandonDeadJobs(this.ctx).catch(() => undefined);
    return this.ctx.deps.catalog.listJobs(this.id, query);
  }

  /** Checks that every point is restorable; with `readData`, verifies every stored blob too. */
  async check(options: { readData?: boolean } = {}): Promise<CheckReport> {
    this.authorize(Operation.Read);
    return (await modules.check()).checkVault(this.ctx, options);
  }

  /** Deletes objects interrupted backups left behind (see `reclaimOrphans` in engine/reclaim.ts). */
  async reclaim(options: ReclaimOptions = {}): Promise<ReclaimResult> {
    return this.audited("vault.reclaim", Operation.Reclaim, undefined, async () =>
      (await modules.reclaim()).reclaimOrphans(this.ctx, options),
    );
  }

  /**
   * Garbage collection: releases the blocks of purged points and deletes packs that no live or
   * soft-deleted point references (see `collectGarbage` in engine/gc/collect.ts).
   */
  async collectGarbage(options: CollectOptions = {}): Promise<CollectResult> {
    return this.audited(
      "vault.gc",
      Operation.Reclaim,
      undefined,
      async () => (await modules.collect()).collectGarbage(this.ctx, options),
      undefined,
      // What it freed, for the metrics' reclaimed-bytes counter (lib/app/observe).
      (r) => ({ bytesFreed: String(r.bytesFreed), packsDeleted: String(r.packsDeleted.length) }),
    );
  }

  /** Creates a backup policy from untrusted input (validated; errors name the field). */
  async createPolicy(input: unknown): Promise<StoredPolicy> {
    return this.audited("policy.create", Operation.ManagePolicies, policyName(input), async () =>
      (await modules.policies()).createPolicy(this.ctx, input),
    );
  }

  /** Replaces a policy's definition; it applies to existing points at the next evaluation. */
  async updatePolicy(name: string, input: unknown, approval?: Approval): Promise<StoredPolicy> {
    return this.audited("policy.update", Operation.ManagePolicies, name, async () =>
      (await modules.policies()).updatePolicy(this.ctx, name, input, this.actor(approval)),
    );
  }

  /** Deletes a policy that no protected disk uses. */
  async deletePolicy(name: string): Promise<void> {
    return this.audited("policy.delete", Operation.ManagePolicies, name, async () =>
      (await modules.policies()).deletePolicy(this.ctx, name),
    );
  }

  async getPolicy(name: string): Promise<StoredPolicy> {
    this.authorize(Operation.Read);
    return (await modules.policies()).getPolicy(this.ctx, name);
  }

  async listPolicies(): Promise<StoredPolicy[]> {
    this.authorize(Operation.Read);
    return (await modules.policies()).listPolicies(this.ctx);
  }

  /** Puts a disk under a policy (see `protect` in rules/protect.ts; a move may be critical). */
  async protect(
    source: VolumeSource,
    disk: string,
    policy: string,
    approval?: Approval,
  ): Promise<DiskRecord> {
    return this.audited("disk.protect", Operation.Protect, disk, async () =>
      (await modules.protect()).protect(this.ctx, source, disk, policy, this.actor(approval)),
    );
  }

  /** Stops protecting a disk; with `deletePoints`, also deletes its points (critical). */
  async unprotect(
    disk: string,
    options: { deletePoints?: boolean } = {},
    approval?: Approval,
  ): Promise<DiskRecord> {
    return this.audited("disk.unprotect", Operation.Protect, disk, async () =>
      (await modules.protect()).unprotect(this.ctx, disk, options, this.actor(approval)),
    );
  }

  /** Soft-deletes a recovery point: restorable and undeletable until the period ends. */
  async deletePoint(id: string, approval?: Approval): Promise<RecoveryPointRecord> {
    return this.audited("point.delete", Operation.DeletePoint, id, async () =>
      (await modules.softDelete()).softDelete(this.ctx, id, this.actor(approval)),
    );
  }

  async undeletePoint(id: string): Promise<RecoveryPointRecord> {
    return this.audited("point.undelete", Operation.UndeletePoint, id, async () =>
      (await modules.softDelete()).undelete(this.ctx, id),
    );
  }

  /**
   * The scheduler's tick: records a queued backup job per protected disk with a slot due now
   * (idempotently) and returns what to send to the snapshot workers; then applies retention.
   */
  async scheduleTick(): Promise<{ requests: SnapshotRequest[]; expired: string[] }> {
    return this.audited("schedule.tick", Operation.RunDue, undefined, async () => {
      const { applyRetention, planScheduledBackups } = await modules.schedule();
      const now = this.ctx.deps.clock.now();
      const requests = await planScheduledBackups(this.ctx, now);
      return { requests, expired: await applyRetention(this.ctx, now) };
    });
  }

  /** Evaluates every policy against the clock (see `runDue` in rules/run-due.ts). */
  async runDue(
    open: (path: string) => Promise<VolumeSource>,
    openVm?: (vm: VmRecord) => Promise<VmBackupDeps>,
  ): Promise<DueReport> {
    return this.audited("schedule.run-due", Operation.RunDue, undefined, async () =>
      (await modules.runDue()).runDue(this.ctx, open, openVm),
    );
  }

  /** The VMs under a policy: their due backups and retention (see rules/vm-schedule.ts). */
  async runDueVms(open: (vm: VmRecord) => Promise<VmBackupDeps>): Promise<VmDue[]> {
    return this.audited("schedule.run-due-vms", Operation.RunDue, undefined, async () =>
      (await modules.vmSchedule()).runDueVms(this.ctx, open),
    );
  }

  /** The vault's rule settings (soft delete, lock). */
  async settings(): Promise<VaultSettings> {
    this.authorize(Operation.Read);
    return this.ctx.deps.catalog.getSettings(this.id);
  }

  /** Which points a lock would make undeletable, until when, and the storage committed. */
  async lockPreview(): Promise<LockPreview> {
    this.authorize(Operation.Read);
    return (await modules.lock()).lockPreview(this.ctx);
  }

  /** Enables the lock (from unlocked) or locks the vault for good (from enabled). */
  async setLock(target: "unlocked" | "enabled" | "locked", approval?: Approval): Promise<VaultSettings> {
    return this.audited("lock.set", Operation.ManageLock, target, async () =>
      (await modules.lock()).setLock(this.ctx, target, this.actor(approval)),
    );
  }

  /** Allows restores over HTTP to write files into `dir` (security-admin; realpath stored). */
  async addRestoreDirectory(dir: string): Promise<VaultSettings> {
    return this.audited("restore-directories.add", Operation.ManageRestoreDirectories, dir, async () =>
      (await modules.restoreDirectories()).addRestoreDirectory(this.ctx, dir),
    );
  }

  /** Stops restores over HTTP from writing into `dir` (security-admin). */
  async removeRestoreDirectory(dir: string): Promise<VaultSettings> {
    return this.audited("restore-directories.remove", Operation.ManageRestoreDirectories, dir, async () =>
      (await modules.restoreDirectories()).removeRestoreDirectory(this.ctx, dir),
    );
  }

  /** Approves another principal's pending request for a critical operation (security-admin). */
  async approve(id: string): Promise<ApprovalRecord> {
    return this.audited("approval.approve", Operation.Approve, id, async () =>
      (await modules.approvals()).approve(this.ctx, this.principal, id),
    );
  }

  /**
   * Rejects another principal's pending request (security-admin): it can never be approved or
   * used; the requester must ask again.
   */
  async reject(id: string): Promise<ApprovalRecord> {
    return this.audited("approval.reject", Operation.Approve, id, async () =>
      (await modules.approvals()).reject(this.ctx, this.principal, id),
    );
  }

  /** Approval requests, newest first (reader). */
  async listApprovals(query?: ApprovalQuery): Promise<ApprovalRecord[]> {
    this.authorize(Operation.Read);
    return this.ctx.deps.catalog.listApprovals(this.id, query);
  }

  /** Approval requests as shown, newest first, rejected ones told apart (reader). */
  async approvalViews(status?: ApprovalStatus): Promise<ApprovalView[]> {
    const records = await this.listApprovals(status ? { state: storedStateOf(status) } : {});
    return approvalViews(records, status);
  }

  /** Changes the soft-delete period (14 to 180 days) or makes soft delete always-on (final). */
  async setSoftDelete(
    change: { days?: number; alwaysOn?: boolean; enabled?: boolean },
    approval?: Approval,
  ): Promise<VaultSettings> {
    return this.audited("soft-delete.update", Operation.ManageSoftDelete, undefined, async () =>
      (await modules.lock()).setSoftDelete(this.ctx, change, this.actor(approval)),
    );
  }

  /**
   * Changes the vault key (security-admin, critical): new data keys are wrapped under new master
   * key material, older material still unwraps what it wrapped (see `rotateVaultKey` in rules/key-rotation.ts).
   */
  async rotateKey(approval?: Approval): Promise<KeyRotation> {
    return this.audited("vault.rotate-key", Operation.RotateKey, undefined, async () =>
      (await modules.keyRotation()).rotateVaultKey(this.ctx, this.actor(approval)),
    );
  }

  /** The vault's principals, without their tokens (reader). */
  async listPrincipals(): Promise<PrincipalRecord[]> {
    this.authorize(Operation.Read);
    const store = this.ctx.deps.principals;
    return store ? [...(await store.list()).principals] : [];
  }

  /**
   * Adds a principal (security-admin, critical): once the vault has principals, a security admin
   * requests it and another, independent one approves it. The owner of a vault without
   * principals adds the first ones freely (see `bootstrapPrincipals` in rules/principals.ts).
   */
  async addPrincipal(name: string, roles: readonly string[], approval?: Approval): Promise<AddedPrincipal> {
    return this.audited(
      "principal.add",
      Operation.ManagePrincipals,
      name,
      async () => (await modules.principals()).addPrincipal(this.ctx, this.actor(approval), { name, roles }),
      { roles: roles.join(",") },
    );
  }

  /** The owner's first principals, all at once, in a vault that has none. */
  async bootstrapPrincipals(principals: readonly NewPrincipal[], by?: string): Promise<AddedPrincipal[]> {
    return this.audited(
      "principal.add",
      Operation.ManagePrincipals,
      principals.map((p) => p.name).join(","),
      async () => (await modules.principals()).bootstrapPrincipals(this.ctx, this.actor(), principals, by),
      {
        roles: principals.map((p) => `${p.name}=${p.roles.join("+")}`).join(","),
        ...(by ? { by } : {}),
      },
    );
  }

  /** Removes a principal (security-admin, critical); the last security admin stays. */
  async removePrincipal(name: string, approval?: Approval): Promise<void> {
    // The roles it had, for the audit log (the removal itself reads the set again).
    const listed = await this.ctx.deps.principals?.list().catch(() => undefined);
    const roles = listed?.principals.find((p) => p.name === name)?.roles;
    return this.audited(
      "principal.remove",
      Operation.ManagePrincipals,
      name,
      async () => (await modules.principals()).removePrincipal(this.ctx, this.actor(approval), name),
      roles ? { roles: roles.join(",") } : undefined,
    );
  }

  /** Replaces a principal's roles (security-admin, critical), the caller's own included. */
  async setPrincipalRoles(
    name: string,
    roles: readonly string[],
    approval?: Approval,
  ): Promise<PrincipalRecord> {
    return this.audited(
      "principal.set-roles",
      Operation.ManagePrincipals,
      name,
      async () => (await modules.principals()).setPrincipalRoles(this.ctx, this.actor(approval), name, roles),
      { roles: roles.join(",") },
    );
  }

  /** Protects a VM, or changes how it is protected (see `protectVm` in rules/vms.ts). */
  async protectVm(definition: VmDefinition): Promise<VmRecord> {
    return this.audited("vm.protect", Operation.Protect, definition.name, async () => {
      const vms = await modules.vms();
      // Commands run as the agent's machine: setting them takes a security admin as well.
      const existing = await this.ctx.deps.catalog.getVm(this.id, definition.name).catch(() => undefined);
      if (vms.changesGuestCommands(definition, existing)) this.authorize(Operation.ManageGuestCommands);
      return vms.protectVm(this.ctx, definition);
    });
  }

  /** The vault's protected VMs, by name. */
  async listVms(): Promise<VmRecord[]> {
    this.authorize(Operation.Read);
    return this.ctx.deps.catalog.listVms(this.id);
  }

  async getVm(name: string): Promise<VmRecord> {
    this.authorize(Operation.Read);
    return this.ctx.deps.catalog.getVm(this.id, name);
  }

  /**
   * Backs up VM `name` as one VM recovery point (see engine/vm/backup-vm.ts); `open` gives the
   * guest agent and snapshot provider its definition names, which are closed afterwards.
   */
  async backupVm(name: string, open: (vm: VmRecord) => Promise<VmBackupDeps>): Promise<VmBackupResult> {
    return this.audited("vm.backup", Operation.Backup, name, async () => {
      const vm = await this.ctx.deps.catalog.getVm(this.id, name).catch((err: unknown) => {
        if (err instanceof NotFoundError)
          throw new NotFoundError(`VM ${name} is not protected (blockvault vm protect)`);
        throw err;
      });
      const deps = await open(vm);
      try {
        return await (await modules.vmBackup()).runVmBackup(this.ctx, vm, deps);
      } finally {
        await deps.agent?.close().catch(() => undefined);
      }
    });
  }

  /** VM recovery points, newest first, of one VM or all. */
  async listVmPoints(vm?: string): Promise<VmPointRecord[]> {
    this.authorize(Operation.Read);
    if (vm !== undefined) validateDiskName(vm);
    return this.ctx.deps.catalog.listVmPoints(this.id, vm);
  }

  async getVmPoint(id: string): Promise<VmPointRecord> {
    this.authorize(Operation.Read);
    return (await modules.vmPoints()).vmPoint(this.ctx, id);
  }

  /** Soft-deletes a VM point and every disk's point of it, as one. */
  async deleteVmPoint(id: string, approval?: Approval): Promise<VmPointRecord> {
    return this.audited("vm-point.delete", Operation.DeletePoint, id, async () =>
      (await modules.vmPoints()).deleteVmPoint(this.ctx, id, this.actor(approval)),
    );
  }

  async undeleteVmPoint(id: string): Promise<VmPointRecord> {
    return this.audited("vm-point.undelete", Operation.UndeletePoint, id, async () =>
      (await modules.vmPoints()).undeleteVmPoint(this.ctx, id),
    );
  }

  /** Restores every disk of a VM point into `dir`, with its `vm.json` (see rules/vm-restore.ts). */
  async restoreVmPoint(
    id: string,
    dir: string,
    options: { force?: boolean; format?: RestoreFormat } = {},
  ): Promise<VmRestoreResult> {
    return this.audited("vm.restore", Operation.Restore, id, async () =>
      (await modules.vmRestore()).restoreVmPoint(this.ctx, id, dir, options, (pointId, path) =>
        this.restoreToFile(pointId, path, {
          force: options.force ?? false,
          ...(options.format ? { format: options.format } : {}),
        }),
      ),
    );
  }

  close(): Promise<void> {
    return this.onClose();
  }
}

/**
 * The vault's catalog model: what the catalog stores about vaults, protected disks, recovery
 * points and jobs. Plain data, serialisable as JSON; timestamps are epoch milliseconds.
 */

/** Storage tier of a recovery point, in the order points move through them. */
export const Tier = { Snapshot: "snapshot", Vault: "vault", Archive: "archive" } as const;
export type Tier = (typeof Tier)[keyof typeof Tier];

/** Lifecycle state of a recovery point. */
export const PointState = {
  Available: "available",
  SoftDeleted: "soft-deleted",
  Purged: "purged",
} as const;
export type PointState = (typeof PointState)[keyof typeof PointState];

/** How consistent the captured image is (the terms Azure Backup uses). */
export const Consistency = {
  Crash: "crash-consistent",
  FileSystem: "file-system-consistent",
  Application: "application-consistent",
} as const;
export type Consistency = (typeof Consistency)[keyof typeof Consistency];

export const JobType = {
  Backup: "backup",
  Restore: "restore",
  Purge: "purge",
  Tiering: "tiering",
  /** A recovery point copied into a second vault (a job of the source vault). */
  Copy: "copy",
  /**
   * A protected item that missed its recovery point objective: recorded (failed) once per missed
   * slot, when its alert goes out (lib/app/observe/rpo-alerts.ts).
   */
  RpoMiss: "rpo-miss",
  /** A scheduled verification: manifests' bindings and a rotating subset of packs read. */
  Verify: "verify",
  /** A restore drill: the latest point restored into a scratch target and checked. */
  Drill: "drill",
} as const;
export type JobType = (typeof JobType)[keyof typeof JobType];

export const JobStatus = {
  Queued: "queued",
  Running: "running",
  Completed: "completed",
  Failed: "failed",
  /** The process running it died: no heartbeat for longer than the vault's liveness window. */
  Abandoned: "abandoned",
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

/** A vault: one dedup domain, one master key, one object-store prefix. */
export interface VaultRecord {
  readonly id: string;
  readonly name: string;
  readonly created: number;
  /** Block size in bytes every disk in this vault is cut into. */
  readonly blockSize: number;
}

/** A protected item: one disk whose images are backed up under a stable name. */
export interface DiskRecord {
  readonly vaultId: string;
  readonly name: string;
  readonly created: number;
  /** Logical size of the latest recovery point; a different size is refused. */
  readonly size: number;
  /** Where the disk was last read from, for the record (a path, an S3 URL). */
  readonly source: string;
  readonly policy?: string;
}

/** A recovery point: one committed, restorable image of a disk. */
export interface RecoveryPointRecord {
  readonly id: string;
  readonly vaultId: string;
  readonly disk: string;
  readonly created: number;
  /** The point this one was diffed against, or null for a full backup. */
  readonly parent: string | null;
  readonly consistency: Consistency;
  /** Logical size of the disk image in bytes. */
  readonly logicalSize: number;
  /** Bytes this point added to the vault (packs, index and manifests it wrote). */
  readonly bytesStored: number;
  /** Content address of the root manifest. */
  readonly manifest: string;
  readonly tier: Tier;
  readonly state: PointState;
  /** The source's own reference (an EBS snapshot id) for change tracking on the next run. */
  readonly sourceRef?: string;
  /** When a soft-deleted point becomes purgeable. */
  readonly deleteAfter?: number;
  /**
   * The point's committed retention end (epoch ms): before it, deleting the point is an early
   * delete (refused under a vault lock, approved by a second person otherwise), whatever happens
   * to its disk's policy later. Under a lock it only ever grows.
   */
  readonly retainUntil?: number;
}

/** A tracked unit of work: a backup, a restore, a purge. */
export interface JobRecord {
  readonly id: string;
  readonly vaultId: string;
  readonly type: JobType;
  readonly status: JobStatus;
  readonly disk?: string;
  readonly recoveryPoint?: string;
  readonly started: number;
  readonly ended?: number;
  readonly bytesScanned: number;
  readonly bytesChanged: number;
  readonly bytesStored: number;
  readonly attempts: number;
  readonly error?: string;
  /** When the process running the job last said it is alive (epoch ms); see `JobStatus.Abandoned`. */
  readonly heartbeat?: number;
  /** Free-form details: the restore target, the slot a scheduled job was created for. */
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
}

/** A stored backup policy: the validated definition (see lib/policy) and its revision. */
export interface PolicyRecord {
  readonly vaultId: string;
  readonly name: string;
  /** 1 when created; each update increments it (the update is conditional on it). */
  readonly version: number;
  readonly created: number;
  readonly updated: number;
  /** The policy as `validatePolicy` returned it (JSON). */
  readonly definition: Readonly<Record<string, unknown>>;
}

/** Vault lock: unlocked, enabled (reversible, with approval) or locked (irreversible). */
export const LockState = { Unlocked: "unlocked", Enabled: "enabled", Locked: "locked" } as const;
export type LockState = (typeof LockState)[keyof typeof LockState];

/** Settings of a vault that its rules read; changed only through the vault rules. */
export interface VaultSettings {
  readonly vaultId: string;
  /** Days a deleted point stays restorable before it is purged: 14 to 180. */
  readonly softDeleteDays: number;
  /** Soft delete can be disabled, unless it was made always-on, which is final. */
  readonly softDeleteEnabled: boolean;
  readonly softDeleteAlwaysOn: boolean;
  readonly lock: LockState;
  /**
   * Absolute directories a restore requested over HTTP may write a file into (their realpaths,
   * set by a security admin); empty, the default, refuses file restores over HTTP.
   */
  readonly restoreDirectories: readonly string[];
  /** 0 for the defaults never written; each write increments it (writes are conditional on it). */
  readonly version: number;
}

/** The settings of a vault that never changed them. */
export function defaultSettings(vaultId: string): VaultSettings {
  return {
    vaultId,
    softDeleteDays: 14,
    softDeleteEnabled: true,
    softDeleteAlwaysOn: false,
    lock: LockState.Unlocked,
    restoreDirectories: [],
    version: 0,
  };
}

/** How an audited operation ended: done, refused by a rule or a check, or failed by an error. */
export const AuditOutcome = { Succeeded: "succeeded", Refused: "refused", Failed: "failed" } as const;
export type AuditOutcome = (typeof AuditOutcome)[keyof typeof AuditOutcome];

/**
 * One entry of a vault's audit log: who did what, when, and how it ended. The log is append-only:
 * every mutating operation and every approval adds an entry, and no entry is ever changed.
 */
export interface AuditEntry {
  readonly vaultId: string;
  /** Position in the vault's log, assigned by the catalog: 1 for the first entry, then 2, 3… */
  readonly seq: number;
  /** When the operation ended (epoch ms), as the caller's clock saw it; the log orders by `seq`. */
  readonly at: number;
  /** Who acted: a user, a role, the scheduler. */
  readonly principal: string;
  /** What was done, as `subject.verb`: "policy.create", "point.delete", "lock.approve". */
  readonly action: string;
  /** What it was done to: a policy name, a recovery point id. */
  readonly target?: string;
  readonly outcome: AuditOutcome;
  /** Free-form details: the reason of a refusal, the error of a failure, changed values. */
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
}

/** Where a multi-user authorization request stands. */
export const ApprovalState = { Pending: "pending", Approved: "approved", Used: "used" } as const;
export type ApprovalState = (typeof ApprovalState)[keyof typeof ApprovalState];

/**
 * A request to perform a critical operation, which a second principal with the security-admin
 * role must approve within a time window before the requester may perform it, once.
 */
export interface ApprovalRecord {
  readonly vaultId: string;
  readonly id: string;
  /** The critical operation: "point.delete-early", "soft-delete.disable", "policy.shorten-retention", "lock.disable". */
  readonly operation: string;
  /** What it applies to (a point id, a policy name). */
  readonly target?: string;
  /** A digest of the operation's exact parameters: the approval is for that change only. */
  readonly paramsDigest: string;
  readonly requester: string;
  readonly created: number;
  /** After this the request can no longer be approved or used. */
  readonly expires: number;
  readonly state: ApprovalState;
  readonly approver?: string;
  readonly approved?: number;
  readonly used?: number;
}

/**
 * Where an embedded vault keeps its own files. A restore to a file never writes inside one of
 * `directories` nor onto one of `files` (the catalog, its WAL files, the keyring wherever it
 * lives), however the target path reaches them, `force` or not: replacing the catalog with a
 * disk image would destroy the vault.
 */
export interface VaultFiles {
  readonly directories: readonly string[];
  readonly files: readonly string[];
}

/** How a VM's guest is reached for scripts and freezes (see lib/ports/guest-agent.ts). */
export const AgentKind = {
  /** The QEMU guest agent on a unix socket (or virtio-serial path) this machine can open. */
  QemuGa: "qemu-ga",
  /** AWS Systems Manager Run Command on an EC2 instance. */
  Ssm: "ssm",
  /** Commands run on this machine, for a VM whose disks this machine mounts. */
  Local: "local",
} as const;
export type AgentKind = (typeof AgentKind)[keyof typeof AgentKind];

/** How a VM's disks are captured at one moment (see lib/ports/snapshot-provider.ts). */
export const SnapshotKind = { Lvm: "lvm", Ebs: "ebs", Copy: "copy" } as const;
export type SnapshotKind = (typeof SnapshotKind)[keyof typeof SnapshotKind];

/** One application script of a VM, run before the freeze or after the thaw. */
export interface VmScript {
  /** A shell command line, run by `/bin/sh -c` where the agent runs it. */
  readonly command: string;
  /** Milliseconds it may take; past them it counts as failed. */
  readonly timeoutMs: number;
}

/** How a VM backup reaches application or file-system consistency. */
export interface ConsistencyConfig {
  /** Where the guest is reached; absent: no agent, every point is crash-consistent. */
  readonly agent?: { readonly kind: AgentKind; readonly address: string };
  /** The mount points to freeze, an explicit list (never "/": see docs/design.md, "Freezing"). */
  readonly freezeMounts: readonly string[];
  readonly preScripts: readonly VmScript[];
  readonly postScripts: readonly VmScript[];
  /** The longest the file systems may stay frozen (ms); the watchdog thaws them after it. */
  readonly freezeWindowMs: number;
  /** A point below this level fails the job and alerts instead of falling back. */
  readonly minimum?: Consistency;
}

/** One disk of a protected VM, in the VM's disk order. */
export interface VmDiskRecord {
  /** The disk's own name in the vault: `<vm>.disk<index>`; its points form that disk's chain. */
  readonly disk: string;
  /** Where the disk is read from (a block device, an image file, an EBS volume id). */
  readonly source: string;
  /** Its size in bytes when protected. */
  readonly size: number;
}

/** A protected virtual machine: the unit one VM backup captures at one moment. */
export interface VmRecord {
  readonly vaultId: string;
  readonly name: string;
  readonly created: number;
  readonly disks: readonly VmDiskRecord[];
  /** The index into `disks` of the boot disk. */
  readonly bootDisk: number;
  readonly consistency: ConsistencyConfig;
  readonly snapshot: SnapshotKind;
  readonly policy?: string;
}

/**
 * A VM recovery point: one per-disk recovery point for every disk of the VM, committed together
 * (all visible or none), with the consistency reached and, below application consistency, why.
 */
export interface VmPointRecord {
  readonly id: string;
  readonly vaultId: string;
  readonly vm: string;
  readonly created: number;
  /** The disks' recovery point ids, in the VM's disk order. */
  readonly points: readonly string[];
  readonly consistency: Consistency;
  /** Why the point is below application consistency (absent when it is not). */
  readonly consistencyReason?: string;
  readonly state: PointState;
  /** The job that took it. */
  readonly job: string;
  /** The VM as it was when the point was taken (disks, boot disk, snapshot kind). */
  readonly disks: readonly VmDiskRecord[];
  readonly bootDisk: number;
  readonly deleteAfter?: number;
}

/** The image formats a restore into a local file can write: the disk as is, a fixed VHD, qcow2. */
export const RestoreFormat = { Raw: "raw", Vhd: "vhd", Qcow2: "qcow2" } as const;
export type RestoreFormat = (typeof RestoreFormat)[keyof typeof RestoreFormat];

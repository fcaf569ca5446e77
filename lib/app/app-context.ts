import type { VmBackupDeps } from "../engine/vm/backup-vm.ts";
import type { RestoreFormat, VmRecord } from "../model.ts";
import type { Alerts } from "../ports/alerts.ts";
import type { ObjectArchive } from "../ports/object-archive.ts";
import type { SnapshotQueue } from "../ports/queue.ts";
import type { RestoreTarget } from "../ports/restore-target.ts";
import type { VolumeSource } from "../ports/volume-source.ts";
import type { Workflows } from "../ports/workflows.ts";
import type { OpenCopyDestination } from "../rules/copy-rules.ts";
import type { Principal } from "../rules/roles.ts";
import type { Vault } from "../vault.ts";

/**
 * Where a restore writes, as a request names it: a file on the machine running the embedded
 * runtime, a new S3 object, or a new EBS snapshot.
 */
export type RestoreTargetSpec =
  | {
      readonly kind: "file";
      readonly path: string;
      readonly force?: boolean;
      /** The file's image format (default raw). */
      readonly format?: RestoreFormat;
    }
  | { readonly kind: "s3"; readonly url: string; readonly force?: boolean }
  | { readonly kind: "ebs-snapshot"; readonly description?: string };

/**
 * Everything the application's handlers need, built once per runtime: by the Lambda handlers
 * from their environment (AWS adapters), by `blockvault serve` from the embedded vault (local
 * adapters). The handlers in lib/app never know which.
 */
export interface AppContext {
  /** The deployment's vault, opened once and shared (as the owner; callers narrow with `as`). */
  vault(): Promise<Vault>;
  readonly queue: SnapshotQueue;
  readonly workflows: Workflows;
  readonly alerts: Alerts;
  /** Opens a protected disk's source by the spec recorded on the disk (path, s3://, ebs://). */
  openSource(spec: string): Promise<VolumeSource>;
  /** Opens a restore target of `size` bytes. */
  openTarget(spec: RestoreTargetSpec, size: number): Promise<RestoreTarget>;
  /**
   * Refuses, before a restore is queued, a target this runtime could never write for this
   * caller (a kind it cannot reach, a file outside the allowed directories, a `force` the
   * caller's role does not allow): a restore that can only fail answers 4xx at once.
   */
  checkTarget?(spec: RestoreTargetSpec, caller: Principal): Promise<void>;
  /**
   * Opens the second vault a policy's copy rule names, as the scheduler (see rules/copy-rules.ts);
   * a runtime without it runs no copy rules.
   */
  readonly openCopyDestination?: OpenCopyDestination;
  /** The store's archive tiers, where it has them (S3 storage classes, the local archive). */
  readonly archive?: ObjectArchive;
  /**
   * The guest agent and snapshot provider of a VM, for a VM backup; a runtime that cannot reach
   * guests (the Lambda functions) has none and refuses VM backups.
   */
  readonly openVmDeps?: (vm: VmRecord) => Promise<VmBackupDeps>;
}

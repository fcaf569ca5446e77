import { BlockvaultError } from "../../errors.ts";
import type { RecoveryPointRecord, VmPointRecord } from "../../model.ts";
import { commitAllGuarded } from "../backup/backup-commit.ts";
import type { PointCommitter, PreparedCommit } from "../backup/backup-point.ts";
import type { VaultContext } from "../store/vault-config.ts";

/**
 * Where the disks of one VM backup meet to be committed together. Each disk's backup runs up to
 * its commit and hands its prepared point to its committer, which waits; when the last disk
 * arrives, every point's objects are checked present and every disk job's heartbeat confirmed
 * under one reclaim lease, and the VM point and all the disk points are written in one catalog
 * transaction (`commitVmPoint`). A disk that fails before it arrives aborts the barrier: the
 * waiting disks are told the VM point will not be committed, and give back what they held.
 * Nothing is visible until the single write, so a crash at any moment before it leaves no point
 * of any disk, and one after it leaves all of them.
 */
export class VmCommitBarrier {
  readonly #ctx: VaultContext;
  readonly #arrived: (PreparedCommit | undefined)[];
  readonly #vmPoint: (points: readonly RecoveryPointRecord[]) => VmPointRecord;
  readonly #done: Promise<void>;
  #resolve!: () => void;
  #reject!: (err: Error) => void;
  #settled = false;

  constructor(
    ctx: VaultContext,
    disks: number,
    vmPoint: (points: readonly RecoveryPointRecord[]) => VmPointRecord,
  ) {
    this.#ctx = ctx;
    this.#arrived = new Array<PreparedCommit | undefined>(disks).fill(undefined);
    this.#vmPoint = vmPoint;
    this.#done = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Rejections reach every waiter; this keeps one that nobody awaits from going unhandled.
    this.#done.catch(() => undefined);
  }

  /** The committer of disk `index` (its position in the VM). */
  committerFor(index: number): PointCommitter {
    return async (prepared) => {
      if (this.#settled) throw this.#refusal("the VM point was settled before this disk was ready");
      this.#arrived[index] = prepared;
      if (this.#arrived.every((p) => p !== undefined)) void this.#commit();
      return this.#done;
    };
  }

  /** Aborts the VM point: a disk failed, so no disk is committed. Harmless once settled. */
  abort(cause: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(this.#refusal(`another disk failed: ${(cause as Error)?.message ?? String(cause)}`, cause));
  }

  /** Resolves once the VM point is committed, rejects when it is not. */
  get done(): Promise<void> {
    return this.#done;
  }

  async #commit(): Promise<void> {
    this.#settled = true;
    const prepared = this.#arrived as PreparedCommit[];
    const vmPoint = this.#vmPoint(prepared.map((p) => p.point));
    try {
      await commitAllGuarded(
        this.#ctx,
        prepared.map((p) => ({ objects: p.objects, heartbeat: p.heartbeat })),
        () =>
          this.#ctx.deps.catalog.commitVmPoint(
            vmPoint,
            prepared.map((p) => ({ point: p.point, expectedParent: p.expectedParent })),
          ),
      );
      this.#resolve();
    } catch (err) {
      // Not retryable for the disks: a disk's retry could never rejoin a settled VM point.
      this.#reject(this.#refusal((err as Error).message, err));
    }
  }

  #refusal(why: string, cause?: unknown): BlockvaultError {
    return new BlockvaultError(`VM point not committed: ${why}`, { cause, retryable: false });
  }
}

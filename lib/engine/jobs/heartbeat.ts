import { setTimeout as sleep } from "node:timers/promises";
import { ConflictError } from "../../errors.ts";
import { JobStatus } from "../../model.ts";
import type { ReferenceStore } from "../../ports/references.ts";
import { heartbeatEveryMs, livenessNow, livenessWindowMs } from "../../util/liveness.ts";
import type { VaultContext } from "../store/vault-config.ts";

/**
 * Keeps a running job's `heartbeat` fresh while this process works on it: every quarter of the
 * liveness window, a conditional update (only while the job is still `running`). When that
 * update is refused, someone took the job for dead and marked it abandoned; the heartbeat stops
 * and {@link JobHeartbeat.confirm} fails from then on, so the work is not committed.
 */
export class JobHeartbeat {
  readonly #ctx: VaultContext;
  readonly #jobId: string;
  readonly #timer: NodeJS.Timeout;
  #lost: ConflictError | undefined;

  private constructor(ctx: VaultContext, jobId: string) {
    this.#ctx = ctx;
    this.#jobId = jobId;
    this.#timer = setInterval(() => void this.#beat().catch(() => undefined), heartbeatEveryMs());
    // A heartbeat never keeps a process alive that has nothing else to do.
    this.#timer.unref();
  }

  /** Starts renewing the heartbeat of `jobId`, which the caller has just marked running. */
  static start(ctx: VaultContext, jobId: string): JobHeartbeat {
    return new JobHeartbeat(ctx, jobId);
  }

  /**
   * Renews the heartbeat now and fails with a `ConflictError` if the job is no longer running:
   * what the caller is about to commit would belong to a job others have given up on.
   */
  async confirm(): Promise<void> {
    await this.#beat();
    if (this.#lost) throw this.#lost;
  }

  /** Stops renewing (the job has ended, one way or another). */
  stop(): void {
    clearInterval(this.#timer);
  }

  async #beat(): Promise<void> {
    if (this.#lost) return;
    try {
      await this.#ctx.deps.catalog.updateJob(
        this.#ctx.config.vaultId,
        this.#jobId,
        { heartbeat: livenessNow() },
        { status: JobStatus.Running },
      );
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      this.stop();
      this.#lost = new ConflictError(
        `job ${this.#jobId} was taken for dead (no heartbeat for ${livenessWindowMs()} ms) and ended as abandoned; run it again`,
        { cause: err },
      );
    }
  }
}

/**
 * The vault's leases. `reclaim` is held by a reclaim while it deletes and by a backup while it
 * checks and commits its point, so the two never overlap; `garbage-collection` by the collector.
 */
export const LeaseName = { Reclaim: "reclaim", GarbageCollection: "garbage-collection" } as const;

/**
 * A lease in the reference store held for as long as its holder works: taken for one liveness
 * window and renewed every quarter of it, so a holder that dies loses it within a window.
 */
export class LeaseKeeper {
  readonly #refs: ReferenceStore;
  readonly #ctx: VaultContext;
  readonly #name: string;
  readonly #owner: string;
  readonly #timer: NodeJS.Timeout;
  /** When the lease was last confirmed held, on this process's monotonic clock. */
  #confirmedAt = performance.now();
  #lost = false;

  private constructor(ctx: VaultContext, refs: ReferenceStore, name: string, owner: string) {
    this.#ctx = ctx;
    this.#refs = refs;
    this.#name = name;
    this.#owner = owner;
    this.#timer = setInterval(() => void this.#renew().catch(() => undefined), heartbeatEveryMs());
    this.#timer.unref();
  }

  /** Takes lease `name` for `owner` if it is free or lapsed; undefined when another holds it. */
  static async acquire(
    ctx: VaultContext,
    refs: ReferenceStore,
    name: string,
    owner: string,
  ): Promise<LeaseKeeper | undefined> {
    const now = livenessNow();
    const vaultId = ctx.config.vaultId;
    const taken = await refs
      .acquireLease(vaultId, name, owner, now + livenessWindowMs(), now)
      .catch(async (err) => {
        // The answer may have been lost after the lease was taken: give it back (only this owner's
        // lease is freed), or every other holder would be refused until it lapsed.
        await refs.releaseLease(vaultId, name, owner).catch(() => {});
        throw err;
      });
    return taken ? new LeaseKeeper(ctx, refs, name, owner) : undefined;
  }

  /**
   * Takes lease `name`, waiting while another holder keeps it alive: at most `maxWaitMs` (then
   * undefined), or for as long as it takes.
   */
  static async await(
    ctx: VaultContext,
    refs: ReferenceStore,
    name: string,
    owner: string,
    maxWaitMs = Number.POSITIVE_INFINITY,
  ): Promise<LeaseKeeper | undefined> {
    const until = performance.now() + maxWaitMs;
    // Short holds (a backup's commit) are waited out quickly, long ones without busy polling.
    for (let pause = 10; ; pause = Math.min(pause * 2, 1000, heartbeatEveryMs())) {
      const lease = await LeaseKeeper.acquire(ctx, refs, name, owner);
      if (lease || performance.now() >= until) return lease;
      await sleep(pause * (0.5 + Math.random()));
    }
  }

  /**
   * Fails with a `ConflictError` unless the lease is surely still held: not lost to another
   * holder, and renewed within the last half window (a process that was frozen longer than that
   * may have let it lapse without knowing).
   */
  assertHeld(): void {
    if (this.#lost || performance.now() - this.#confirmedAt > livenessWindowMs() / 2) {
      throw new ConflictError(`lease ${this.#name} lapsed while this process held it; run it again`);
    }
  }

  /** Stops renewing and frees the lease. */
  async release(): Promise<void> {
    clearInterval(this.#timer);
    await this.#refs.releaseLease(this.#ctx.config.vaultId, this.#name, this.#owner);
  }

  async #renew(): Promise<void> {
    if (this.#lost) return;
    const now = livenessNow();
    const before = performance.now();
    const vaultId = this.#ctx.config.vaultId;
    if (await this.#refs.acquireLease(vaultId, this.#name, this.#owner, now + livenessWindowMs(), now)) {
      this.#confirmedAt = before;
    } else {
      this.#lost = true;
      clearInterval(this.#timer);
    }
  }
}

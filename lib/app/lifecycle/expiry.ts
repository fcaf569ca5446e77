import { trackedReferences } from "../../engine/gc/chain.ts";
import { ConflictError } from "../../errors.ts";
import { retainKeptCopies } from "../../rules/copy-retention.ts";
import { Operation } from "../../rules/roles.ts";
import { purgeExpired } from "../../rules/soft-delete.ts";
import type { AppContext } from "../app-context.ts";
import { runScheduledVerifications } from "../observe/verify.ts";
import type { TaskEvent } from "./input.ts";
import { systemVault } from "./system-vault.ts";

/**
 * `purge-expired`: purges the soft-deleted points whose period has ended, then holds the stored
 * objects of the copies other vaults wrote here until their retention ends (a copy's writer may
 * not set storage retention itself: rules/copy-retention.ts).
 */
export async function purgeExpiredPoints(
  app: AppContext,
  _event: TaskEvent,
): Promise<{ purged: string[]; count: number }> {
  const vault = await systemVault(app);
  const purged = await vault.audited("points.purge-expired", Operation.RunDue, undefined, () =>
    purgeExpired(vault.ctx),
  );
  await retainKeptCopies(vault.ctx);
  return { purged, count: purged.length };
}

/** What `collect-garbage` reports; every field is always present, for the machine's paths. */
export interface GarbageCounts {
  /** Why nothing was collected, or null when the collector ran. */
  readonly skipped: string | null;
  readonly pointsReleased: number;
  readonly packsDeleted: number;
  readonly bytesFreed: number;
}

/**
 * `collect-garbage`: releases the blocks of purged points and deletes the packs nothing
 * references. A vault that does not track references, or whose collector is already running
 * (that one does the same work), is skipped rather than failed.
 */
export async function collectVaultGarbage(app: AppContext, _event: TaskEvent): Promise<GarbageCounts> {
  const vault = await systemVault(app);
  const none = { pointsReleased: 0, packsDeleted: 0, bytesFreed: 0 };
  if (!(await trackedReferences(vault.ctx))) {
    return { skipped: "this vault does not track block references", ...none };
  }
  try {
    const result = await vault.collectGarbage();
    return {
      skipped: null,
      pointsReleased: result.pointsReleased.length,
      packsDeleted: result.packsDeleted.length,
      bytesFreed: result.bytesFreed,
    };
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
    return { skipped: err.message, ...none };
  }
}

/**
 * `run-verifications`: the scheduled verifications due (see observe/verify.ts), each a `verify`
 * job that records and alerts what it found; how many ran and how many failed. A run another
 * execution or the embedded tick already claimed is not run again.
 */
export async function runVerifications(
  app: AppContext,
  _event: TaskEvent,
): Promise<{ ran: number; failed: number }> {
  const outcomes = await runScheduledVerifications(app, await systemVault(app));
  return { ran: outcomes.length, failed: outcomes.filter((o) => !o.ok).length };
}

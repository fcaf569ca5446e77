import { packKey } from "../../engine/store/layout.ts";
import { NotFoundError, ValidationError } from "../../errors.ts";
import { JobStatus, PointState, Tier } from "../../model.ts";
import { tierFor } from "../../policy/retention.ts";
import { isArchiveClass, STORAGE_CLASSES, type StorageClass } from "../../ports/object-archive.ts";
import { getPolicy } from "../../rules/policies.ts";
import { Operation } from "../../rules/roles.ts";
import { mapLimit } from "../../util/concurrency.ts";
import type { AppContext } from "../app-context.ts";
import { TieringIncompleteError } from "./errors.ts";
import { optionalText, type TaskEvent, text } from "./input.ts";
import { causeMessage } from "./jobs.ts";
import { exclusivePacks } from "./point-packs.ts";
import { systemVault } from "./system-vault.ts";

/** One point whose tier must change. */
export interface TierChange {
  readonly pointId: string;
  readonly disk: string;
  readonly from: Tier;
  readonly to: Tier;
}

/**
 * Most changes one execution applies. The state's input and output travel through Step
 * Functions (256 KiB at most), so a backlog is worked off over several runs (`more`).
 */
export const MAX_TIER_CHANGES = 250;

/** Tiers only move forward: an archived point comes back only through a restore's rehydration. */
const RANK: Record<Tier, number> = { snapshot: 0, vault: 1, archive: 2 };

/** `list-tier-changes`: the available points whose policy now puts them in a later tier, oldest first. */
export async function listTierChanges(
  app: AppContext,
  _event: TaskEvent,
): Promise<{ changes: TierChange[]; more: boolean }> {
  const vault = await systemVault(app);
  vault.authorize(Operation.RunDue);
  const { catalog, clock } = vault.ctx.deps;
  const now = clock.now();
  const changes: (TierChange & { created: number })[] = [];
  for (const disk of await catalog.listDisks(vault.id)) {
    if (!disk.policy) continue;
    const policy = await getPolicy(vault.ctx, disk.policy).catch((err: unknown) => {
      // A disk whose policy was deleted has no tiering rule left to apply.
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    if (!policy) continue;
    for (const p of await catalog.listRecoveryPoints(vault.id, disk.name)) {
      if (p.state !== PointState.Available) continue;
      const to = tierFor(policy.definition, p, now);
      if (RANK[to] > RANK[p.tier])
        changes.push({ pointId: p.id, disk: p.disk, from: p.tier, to, created: p.created });
    }
  }
  changes.sort((a, b) => a.created - b.created);
  return {
    changes: changes.slice(0, MAX_TIER_CHANGES).map(({ created: _, ...change }) => change),
    more: changes.length > MAX_TIER_CHANGES,
  };
}

function archiveClass(event: TaskEvent): StorageClass {
  const cls = optionalText(event, "archiveClass") ?? "GLACIER";
  if (!STORAGE_CLASSES.includes(cls as StorageClass) || !isArchiveClass(cls as StorageClass)) {
    throw new ValidationError(`archiveClass must be GLACIER or DEEP_ARCHIVE, got ${cls}`);
  }
  return cls as StorageClass;
}

/**
 * `apply-tier-change`: moves one point to its new tier in the catalog; for the archive tier,
 * then moves the packs only archived points need to the archive storage class. The catalog
 * changes first, so that of two points sharing a pack and archived at once the later one sees
 * the other archived; a retry redoes the pack moves, which are idempotent.
 */
export async function applyTierChange(
  app: AppContext,
  event: TaskEvent,
): Promise<{ pointId: string; tier: Tier; packsArchived: number }> {
  const input = (event.input ?? {}) as Readonly<Record<string, unknown>>;
  const change = (input.change ?? {}) as Readonly<Record<string, unknown>>;
  const pointId = text(change, "pointId");
  const to = text(change, "to") as Tier;
  if (!(to in RANK)) throw new ValidationError(`change.to must be a tier, got ${to}`);
  const cls = archiveClass(event);
  const vault = await systemVault(app);
  return vault.audited("point.tier", Operation.RunDue, pointId, async () => {
    const { catalog } = vault.ctx.deps;
    let point = await catalog.getRecoveryPoint(vault.id, pointId);
    // Deleted or already further along since the listing: nothing to do.
    if (point.state !== PointState.Available || RANK[point.tier] > RANK[to]) {
      return { pointId, tier: point.tier, packsArchived: 0 };
    }
    const from = point.tier;
    if (from !== to) point = await catalog.updateRecoveryPoint(vault.id, pointId, { tier: to });
    const archive = app.archive;
    if (to !== Tier.Archive || !archive) return { pointId, tier: to, packsArchived: 0 };
    try {
      const others = (await catalog.listRecoveryPoints(vault.id)).filter(
        (p) => p.id !== pointId && p.tier !== Tier.Archive && p.state !== PointState.Purged,
      );
      const packs = await exclusivePacks(vault.ctx, point, others);
      const moved = await mapLimit(packs, 8, async (pack) => {
        const key = packKey(pack);
        if (isArchiveClass(await archive.storageClass(key))) return 0;
        await archive.setStorageClass(key, cls);
        return 1;
      });
      return { pointId, tier: to, packsArchived: moved.reduce((a: number, b: number) => a + b, 0) };
    } catch (err) {
      // Back to where it was, so that a retry or the next run moves its packs: a point left in
      // the archive tier would never be listed again. (Packs already moved stay archived; a
      // restore rehydrates them.)
      if (from !== to) await catalog.updateRecoveryPoint(vault.id, pointId, { tier: from }).catch(() => {});
      throw err;
    }
  });
}

/** What one iteration of the tiering Map produced (the failure branch fills `error`/`cause`). */
interface TierResult {
  readonly pointId?: unknown;
  readonly packsArchived?: unknown;
  readonly failed?: unknown;
  readonly error?: unknown;
  readonly cause?: unknown;
}

/**
 * `finish-tiering`: completes the job with the counts, or, if some points could not be moved,
 * records the counts and throws {@link TieringIncompleteError} naming them (the machine's
 * failure path marks the job failed and alerts).
 */
export async function finishTiering(
  app: AppContext,
  event: TaskEvent,
): Promise<{ jobId: string; moved: number; packsArchived: number; failed: number; more: boolean }> {
  const jobId = text(event, "jobId");
  if (!Array.isArray(event.results)) throw new ValidationError("results must be an array");
  const results = event.results as TierResult[];
  const failures = results.filter((r) => r.failed === true);
  const packsArchived = results.reduce(
    (n, r) => n + (typeof r.packsArchived === "number" ? r.packsArchived : 0),
    0,
  );
  const summary = {
    jobId,
    moved: results.length - failures.length,
    packsArchived,
    failed: failures.length,
    more: event.more === true,
  };
  const vault = await systemVault(app);
  const { catalog, clock } = vault.ctx.deps;
  const { jobId: _, ...detail } = summary;
  if (failures.length > 0) {
    await catalog.updateJob(vault.id, jobId, { detail });
    const named = failures
      .map((f) => {
        const { name, message } = causeMessage({ Error: f.error, Cause: f.cause });
        return `${String(f.pointId)} (${name}: ${message})`;
      })
      .join("; ");
    throw new TieringIncompleteError(
      `${failures.length} of ${results.length} recovery points could not change tier: ${named}`,
    );
  }
  await catalog.updateJob(vault.id, jobId, { status: JobStatus.Completed, ended: clock.now(), detail });
  return summary;
}

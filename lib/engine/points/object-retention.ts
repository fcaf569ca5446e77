import { BlockvaultError } from "../../errors.ts";
import { LockState, PointState, type RecoveryPointRecord } from "../../model.ts";
import { RETENTION_UNSUPPORTED, RetentionMode } from "../../ports/object-store.ts";
import { mapLimit } from "../../util/concurrency.ts";
import type { VaultContext } from "../store/vault-config.ts";
import { VaultObjects } from "./point-objects.ts";

/** Retention requests in flight at once. */
const RETAINS = 16;

/** What a retention pass did. */
export interface RetentionResult {
  /** Objects asked to be retained (each once, to the latest date any of the points needs). */
  readonly objects: number;
  /**
   * Objects compliance mode was asked for that stay in governance mode for now: on S3, archived
   * objects under an earlier governance retention, which cannot be copied until rehydrated.
   */
  readonly governanceOnly: readonly string[];
  /**
   * True when the store cannot retain this vault's objects at all (an S3 bucket created without
   * Object Lock): nothing was retained, and the caller should say so rather than fail its work.
   */
  readonly unsupported?: true;
}

const NOTHING: RetentionResult = { objects: 0, governanceOnly: [] };

/** The storage retention mode a vault lock state calls for: compliance once locked for good. */
export function retentionModeFor(lock: LockState): RetentionMode {
  return lock === LockState.Locked ? RetentionMode.Compliance : RetentionMode.Governance;
}

/** The mode the vault's current lock state calls for. */
export async function vaultRetentionMode(ctx: VaultContext): Promise<RetentionMode> {
  return retentionModeFor((await ctx.deps.catalog.getSettings(ctx.config.vaultId)).lock);
}

/**
 * Puts every object `point` needs to be restored (config, manifests, the index objects naming its
 * packs, its packs) under storage retention until `point.retainUntil`, in `mode` (by default the
 * one the vault lock calls for: {@link vaultRetentionMode}). Retention only extends, so calling it
 * after every change of `retainUntil` is enough, and a pack several points share ends up retained
 * to the latest of their dates. Returns at once, reading nothing, when the store has no retention,
 * the point has no `retainUntil` (or one already past) or is purged.
 */
export function retainPointObjects(
  ctx: VaultContext,
  point: RecoveryPointRecord,
  mode?: RetentionMode,
): Promise<RetentionResult> {
  return retainPoints(ctx, [point], mode);
}

/**
 * {@link retainPointObjects} for many points at once, reading the vault's index once and
 * retaining each object once, to the latest date among the points that need it: what a caller
 * that raised several points' `retainUntil` in one pass should use.
 */
export async function retainPoints(
  ctx: VaultContext,
  points: readonly RecoveryPointRecord[],
  mode?: RetentionMode,
): Promise<RetentionResult> {
  if (!ctx.deps.store.retain) return NOTHING;
  const now = ctx.deps.clock.now();
  const due = points.filter((p) => needsRetention(p, now));
  if (due.length === 0) return NOTHING;
  const objects = await VaultObjects.load(ctx);
  const until = new Map<string, number>();
  for (const point of due) {
    for (const key of await objects.of(point)) {
      until.set(key, Math.max(until.get(key) ?? 0, point.retainUntil as number));
    }
  }
  return retainEach(ctx, until, mode ?? (await vaultRetentionMode(ctx)));
}

/**
 * {@link retainPoints} for every point of the vault that has a `retainUntil` still ahead. Run it
 * when the vault lock becomes `locked` (in compliance mode, the default then), and whenever
 * retention may have been missed (it repeats nothing that holds already).
 */
export async function retainAllPoints(ctx: VaultContext, mode?: RetentionMode): Promise<RetentionResult> {
  if (!ctx.deps.store.retain) return NOTHING;
  return retainPoints(ctx, await ctx.deps.catalog.listRecoveryPoints(ctx.config.vaultId), mode);
}

function needsRetention(point: RecoveryPointRecord, now: number): boolean {
  return point.state !== PointState.Purged && point.retainUntil !== undefined && point.retainUntil > now;
}

async function retainEach(
  ctx: VaultContext,
  until: ReadonlyMap<string, number>,
  mode: RetentionMode,
): Promise<RetentionResult> {
  const retain = ctx.deps.store.retain!.bind(ctx.deps.store);
  const keys = [...until.keys()].sort();
  let held: Awaited<ReturnType<typeof retain>>[];
  try {
    held = await mapLimit(keys, RETAINS, (key) => retain(key, until.get(key)!, mode));
  } catch (err) {
    if (err instanceof BlockvaultError && err.code === RETENTION_UNSUPPORTED) {
      return { objects: 0, governanceOnly: [], unsupported: true };
    }
    throw err;
  }
  const governanceOnly = keys.filter((_, i) => mode === RetentionMode.Compliance && held[i]?.mode !== mode);
  return { objects: keys.length, governanceOnly };
}

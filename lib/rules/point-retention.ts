import { retainPoints } from "../engine/points/object-retention.ts";
import type { VaultContext } from "../engine/store/vault-config.ts";
import { NotFoundError } from "../errors.ts";
import { type DiskRecord, PointState, type RecoveryPointRecord } from "../model.ts";
import type { BackupPolicy } from "../policy/policy.ts";
import { pointsToExpire } from "../policy/retention.ts";
import { localDay, reachedDay } from "../policy/time-zone.ts";
import { retentionEnd } from "./retention-end.ts";

/*
 * A point's retention has two sources: what its disk's policy gives it now (derived, recomputed
 * at every evaluation) and the end committed on the point itself (`retainUntil`, a floor). The
 * floor is what survives the policy: stopping protection, moving the disk to another policy or
 * editing the policy cannot make a point deletable before it. The floor only ever rises, except
 * through an approved shortening in an unlocked vault, so under a lock nothing lowers it.
 *
 * The floor is raised only to ends that no later backup can take back: a point's snapshot-tier
 * end at once, and its rule-kept end once its local day has closed (before that, a later backup
 * the same day may become the day's latest and leave it to the snapshot tier alone, as the
 * policy says). Stopping protection closes every day: no later backup will come.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

/** The available points of a disk, oldest first. */
export async function availablePoints(ctx: VaultContext, disk: string): Promise<RecoveryPointRecord[]> {
  const points = await ctx.deps.catalog.listRecoveryPoints(ctx.config.vaultId, disk);
  return points.filter((p) => p.state === PointState.Available).reverse();
}

/** The retention end `policy` gives `point` among `points` (undefined without a policy). */
export function derivedEnd(
  policy: BackupPolicy | undefined,
  points: readonly RecoveryPointRecord[],
  point: RecoveryPointRecord,
): number | undefined {
  return policy ? retentionEnd(policy, points, point) : undefined;
}

/** The end a point has: its committed floor or its policy's end, whichever is later. */
export function effectiveEnd(point: RecoveryPointRecord, derived: number | undefined): number {
  return Math.max(point.retainUntil ?? 0, derived ?? 0);
}

/**
 * The end the floor may be raised to now: the policy's end once it is final (the point's local
 * day has closed, or no backup will follow), else only the snapshot-tier end.
 */
export function committableEnd(
  policy: BackupPolicy,
  points: readonly RecoveryPointRecord[],
  point: RecoveryPointRecord,
  now: number,
  final: boolean,
): number {
  const dayClosed = reachedDay(policy.timeZone, now) > localDay(policy.timeZone, point.created);
  if (final || dayClosed) return retentionEnd(policy, points, point);
  return point.created + policy.snapshotRetentionDays * DAY_MS;
}

/**
 * The end a point is guaranteed now, whatever happens later: its floor, or the end its policy has
 * made final. A point that is its day's latest so far may be kept longer than this (until a later
 * backup that day takes its place), but it is never kept for less.
 */
export function guaranteedEnd(
  policy: BackupPolicy | undefined,
  points: readonly RecoveryPointRecord[],
  point: RecoveryPointRecord,
  now: number,
): number {
  const floor = point.retainUntil ?? 0;
  return policy ? Math.max(floor, committableEnd(policy, points, point, now, false)) : floor;
}

/** How {@link commitRetention} moves the floors. */
export interface CommitOptions {
  /** Every day counts as closed: the disk is leaving its policy. */
  readonly final?: boolean;
  /** Set floors to the policy's ends even where that lowers them (an approved shortening). */
  readonly reset?: boolean;
}

/**
 * Raises the committed floor of each available point of `disk` to what `policy` finally gives
 * it, and returns the points whose floor changed (their stored objects' retention follows).
 */
export async function commitRetention(
  ctx: VaultContext,
  disk: string,
  policy: BackupPolicy | undefined,
  options: CommitOptions = {},
): Promise<RecoveryPointRecord[]> {
  if (!policy) return [];
  const now = ctx.deps.clock.now();
  const points = await availablePoints(ctx, disk);
  const moved: RecoveryPointRecord[] = [];
  for (const point of points) {
    const target = committableEnd(policy, points, point, now, options.final ?? false);
    const next = options.reset ? target : Math.max(point.retainUntil ?? 0, target);
    if (next !== point.retainUntil) moved.push({ ...point, retainUntil: next });
  }
  // The stored objects first: a crash before the catalog write leaves them held and the floor
  // unmoved, so the next evaluation does both again; the other order could leave a floor whose
  // objects nothing holds.
  await retainPoints(ctx, moved);
  const changed: RecoveryPointRecord[] = [];
  for (const point of moved) {
    changed.push(
      await ctx.deps.catalog.updateRecoveryPoint(ctx.config.vaultId, point.id, {
        retainUntil: point.retainUntil,
      }),
    );
  }
  return changed;
}

/** {@link commitRetention} for every disk of the vault under its own policy. */
export async function commitAllRetention(
  ctx: VaultContext,
  policyOf: (disk: DiskRecord) => Promise<BackupPolicy | undefined>,
): Promise<RecoveryPointRecord[]> {
  const changed: RecoveryPointRecord[] = [];
  for (const disk of await ctx.deps.catalog.listDisks(ctx.config.vaultId)) {
    changed.push(...(await commitRetention(ctx, disk.name, await policyOf(disk))));
  }
  return changed;
}

/** The points of `disk` whose end would come earlier under `next` than under `current`. */
export async function shortenedPoints(
  ctx: VaultContext,
  disk: string,
  current: BackupPolicy | undefined,
  next: BackupPolicy | undefined,
): Promise<RecoveryPointRecord[]> {
  const points = await availablePoints(ctx, disk);
  return points.filter(
    (p) => effectiveEnd(p, derivedEnd(next, points, p)) < effectiveEnd(p, derivedEnd(current, points, p)),
  );
}

/** The end recovery point `point` has now, under its disk's policy and its own floor. */
export async function pointRetentionEnd(
  ctx: VaultContext,
  point: RecoveryPointRecord,
  policyOf: (disk: DiskRecord) => Promise<BackupPolicy | undefined>,
): Promise<number> {
  const disk = await ctx.deps.catalog.getDisk(ctx.config.vaultId, point.disk).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  const policy = disk ? await policyOf(disk) : undefined;
  if (!policy || point.state !== PointState.Available) return effectiveEnd(point, undefined);
  return effectiveEnd(point, derivedEnd(policy, await availablePoints(ctx, point.disk), point));
}

/**
 * The points of one disk its policy no longer keeps at `now` and whose committed floor has
 * passed too, oldest first: what retention may soft-delete.
 */
export function expirable(
  policy: BackupPolicy,
  points: readonly RecoveryPointRecord[],
  now: number,
): string[] {
  const floors = new Map(points.map((p) => [p.id, p.retainUntil ?? 0]));
  return pointsToExpire(policy, points, now).filter((id) => (floors.get(id) ?? 0) <= now);
}

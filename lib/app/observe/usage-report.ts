import { ValidationError } from "../../errors.ts";
import {
  type JobRecord,
  JobStatus,
  JobType,
  PointState,
  type RecoveryPointRecord,
  Tier,
} from "../../model.ts";
import type { VaultFacts } from "./facts.ts";

/** How far back a report counts jobs when no `since` is given. */
export const DEFAULT_REPORT_DAYS = 30;

/** Bytes by storage tier. */
export type TierBytes = Readonly<Record<Tier, number>>;

/** The usage figures of one protected item, or of the whole vault. */
export interface UsageFigures {
  /** Logical size of the disk (its latest point's); for the vault, the sum over its items. */
  readonly logicalSize: number;
  /** What the available and soft-deleted points added to the store, by the tier they are in. */
  readonly storedBytes: TierBytes;
  readonly storedTotal: number;
  /**
   * Logical bytes of the kept points per byte their backups found changed: what incremental
   * forever, holes and unchanged blocks save. Null without a backup to measure it by.
   */
  readonly dedupRatio: number | null;
  /**
   * Changed bytes per byte stored: compression, and blocks another disk already stored. Null
   * when nothing was stored.
   */
  readonly compressionRatio: number | null;
  /** Available points; soft-deleted ones (still restorable, still stored) apart. */
  readonly pointsKept: number;
  readonly pointsSoftDeleted: number;
  /** Jobs started since the report's `since`, by outcome (abandoned ones count as failed). */
  readonly jobsSucceeded: number;
  readonly jobsFailed: number;
}

/** One protected item's usage and its standing against its RPO. */
export interface ItemUsage extends UsageFigures {
  readonly disk: string;
  readonly policy: string | null;
  readonly lastGood: number | null;
  /** Whether the item has a good point for its latest slot due past the grace (true without a policy). */
  readonly rpoCompliant: boolean;
  /** Missed slots recorded since the report's `since`. */
  readonly rpoMisses: number;
}

/** The usage report: the vault as a whole, then each item it holds points or a record of. */
export interface UsageReport {
  readonly vault: { readonly id: string; readonly name: string } & UsageFigures & {
      readonly itemsCompliant: number;
      readonly itemsOutsideRpo: number;
    };
  readonly since: number;
  readonly generated: number;
  readonly items: ItemUsage[];
}

/**
 * What `since` may be: an ISO 8601 date, or a date and time to the minute, second or millisecond,
 * with or without an offset (local time without). api/openapi.json's `since` has the same pattern.
 */
export const SINCE_PATTERN =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,3})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?)?$/;

/**
 * A report's `since` as epoch ms: 30 days before `now` when absent. A day past the month's end
 * rolls over (`2026-02-31` is 3 March), as `Date.parse` does; a later time than `now` counts nothing.
 */
export function reportSince(value: string | undefined, now: number): number {
  if (value === undefined) return now - DEFAULT_REPORT_DAYS * 86_400_000;
  const at = SINCE_PATTERN.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) {
    throw new ValidationError(`since must be an ISO 8601 date or time such as 2026-11-01, got "${value}"`);
  }
  return at;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? Math.round((a / b) * 100) / 100 : null);

function figures(
  points: readonly RecoveryPointRecord[],
  jobs: readonly JobRecord[],
  since: number,
  logicalSize: number,
): UsageFigures {
  const stored = points.filter((p) => p.state !== PointState.Purged);
  const storedBytes = { [Tier.Snapshot]: 0, [Tier.Vault]: 0, [Tier.Archive]: 0 } as Record<Tier, number>;
  for (const p of stored) storedBytes[p.tier] += p.bytesStored;
  const ids = new Set(stored.map((p) => p.id));
  // The backups that made the kept points: the ratios describe what the vault holds now.
  const makers = jobs.filter(
    (j) =>
      j.type === JobType.Backup &&
      j.status === JobStatus.Completed &&
      j.recoveryPoint &&
      ids.has(j.recoveryPoint),
  );
  const changed = makers.reduce((n, j) => n + j.bytesChanged, 0);
  const written = makers.reduce((n, j) => n + j.bytesStored, 0);
  const logical = stored
    .filter((p) => makers.some((j) => j.recoveryPoint === p.id))
    .reduce((n, p) => n + p.logicalSize, 0);
  const recent = jobs.filter((j) => j.started >= since && j.type !== JobType.RpoMiss);
  return {
    logicalSize,
    storedBytes,
    storedTotal: stored.reduce((n, p) => n + p.bytesStored, 0),
    dedupRatio: ratio(logical, changed),
    compressionRatio: ratio(changed, written),
    pointsKept: stored.filter((p) => p.state === PointState.Available).length,
    pointsSoftDeleted: stored.filter((p) => p.state === PointState.SoftDeleted).length,
    jobsSucceeded: recent.filter((j) => j.status === JobStatus.Completed).length,
    jobsFailed: recent.filter((j) => j.status === JobStatus.Failed || j.status === JobStatus.Abandoned)
      .length,
  };
}

/**
 * The usage report of `facts` (see {@link UsageReport}): one entry per disk the catalog has a
 * record or points of, sorted by name, and the vault's totals over all of them (its jobs include
 * those of no disk: restores of purged disks, tiering, purges).
 */
export function usageReport(facts: VaultFacts, since: number): UsageReport {
  const names = [...new Set([...facts.disks.map((d) => d.name), ...facts.points.map((p) => p.disk)])].sort();
  const items = names.map((disk): ItemUsage => {
    const record = facts.disks.find((d) => d.name === disk);
    const points = facts.points.filter((p) => p.disk === disk);
    const jobs = facts.jobs.filter((j) => j.disk === disk);
    const latest = points.find((p) => p.state !== PointState.Purged);
    const rpo = facts.rpo.get(disk);
    return {
      disk,
      policy: record?.policy ?? null,
      ...figures(points, jobs, since, record?.size ?? latest?.logicalSize ?? 0),
      lastGood: rpo?.lastGood ?? points.find((p) => p.state === PointState.Available)?.created ?? null,
      rpoCompliant: rpo?.compliant ?? true,
      rpoMisses: jobs.filter((j) => j.type === JobType.RpoMiss && j.started >= since).length,
    };
  });
  const total = items.reduce((n, i) => n + i.logicalSize, 0);
  return {
    vault: {
      id: facts.vaultId,
      name: facts.vaultName,
      ...figures(facts.points, facts.jobs, since, total),
      itemsCompliant: items.filter((i) => i.rpoCompliant).length,
      itemsOutsideRpo: items.filter((i) => !i.rpoCompliant).length,
    },
    since,
    generated: facts.now,
    items,
  };
}

import type { UsageFigures, UsageReport } from "./usage-report.ts";

/** The CSV columns, in order: the vault's row first (`scope` "vault"), then one per item. */
export const USAGE_CSV_COLUMNS = [
  "scope",
  "name",
  "policy",
  "logical_size",
  "stored_snapshot",
  "stored_vault",
  "stored_archive",
  "stored_total",
  "dedup_ratio",
  "compression_ratio",
  "points_kept",
  "points_soft_deleted",
  "jobs_succeeded",
  "jobs_failed",
  "rpo_compliant",
  "rpo_misses",
  "last_good",
] as const;

/** A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function csvField(value: string | number | boolean | null): string {
  const text = value === null ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The report as CSV (RFC 4180 quoting, a header row, lines ended by LF except the last). */
export function usageCsv(report: UsageReport): string {
  const row = (
    scope: string,
    name: string,
    f: UsageFigures,
    extra: {
      policy: string | null;
      compliant: boolean | null;
      misses: number | null;
      lastGood: number | null;
    },
  ) =>
    [
      scope,
      name,
      extra.policy,
      f.logicalSize,
      f.storedBytes.snapshot,
      f.storedBytes.vault,
      f.storedBytes.archive,
      f.storedTotal,
      f.dedupRatio,
      f.compressionRatio,
      f.pointsKept,
      f.pointsSoftDeleted,
      f.jobsSucceeded,
      f.jobsFailed,
      extra.compliant,
      extra.misses,
      extra.lastGood === null ? null : new Date(extra.lastGood).toISOString(),
    ]
      .map(csvField)
      .join(",");
  const lines = [
    USAGE_CSV_COLUMNS.join(","),
    row("vault", report.vault.name, report.vault, {
      policy: null,
      compliant: report.vault.itemsOutsideRpo === 0,
      misses: report.items.reduce((n, i) => n + i.rpoMisses, 0),
      lastGood: null,
    }),
    ...report.items.map((i) =>
      row("item", i.disk, i, {
        policy: i.policy,
        compliant: i.rpoCompliant,
        misses: i.rpoMisses,
        lastGood: i.lastGood,
      }),
    ),
  ];
  return lines.join("\n");
}

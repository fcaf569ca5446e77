import { gatherFacts } from "../../app/observe/facts.ts";
import { usageCsv } from "../../app/observe/usage-csv.ts";
import { type ItemUsage, reportSince, usageReport } from "../../app/observe/usage-report.ts";
import { ValidationError } from "../../errors.ts";
import { type CommandContext, withVault } from "../context.ts";
import { formatBytes, formatTime, table } from "../format.ts";

const ratioText = (r: number | null) => (r === null ? "-" : `${r.toFixed(2)}x`);

function itemRow(i: ItemUsage): string[] {
  return [
    i.disk,
    i.policy ?? "",
    formatBytes(i.logicalSize),
    formatBytes(i.storedBytes.snapshot),
    formatBytes(i.storedBytes.vault),
    formatBytes(i.storedBytes.archive),
    ratioText(i.dedupRatio),
    ratioText(i.compressionRatio),
    String(i.pointsKept),
    `${i.jobsSucceeded}/${i.jobsFailed}`,
    i.rpoCompliant ? "yes" : `NO (${i.rpoMisses} missed)`,
    i.lastGood === null ? "never" : formatTime(i.lastGood),
  ];
}

/**
 * `blockvault report [--since DATE] [--csv]`: usage per vault and per protected item (reader):
 * sizes, stored bytes by tier, ratios, points kept, jobs since DATE (30 days by default) and RPO
 * compliance. `--json` prints the report as `GET /reports/usage` answers it, `--csv` one row for
 * the vault and one per item.
 */
export async function reportCommand(ctx: CommandContext): Promise<void> {
  if (ctx.positionals.length > 0) throw new ValidationError(`unexpected argument "${ctx.positionals[0]}"`);
  const csv = ctx.values.csv === true;
  if (csv && ctx.global.json) throw new ValidationError("--csv and --json are exclusive: choose one");
  const since = typeof ctx.values.since === "string" ? ctx.values.since : undefined;
  await withVault(ctx.global, async (vault) => {
    const facts = await gatherFacts(vault);
    const report = usageReport(facts, reportSince(since, facts.now));
    if (csv) {
      ctx.print(report, usageCsv(report));
      return;
    }
    const v = report.vault;
    const summary = [
      `Vault "${v.name}" since ${formatTime(report.since)}: ${formatBytes(v.logicalSize)} protected, ` +
        `${formatBytes(v.storedTotal)} stored (snapshot ${formatBytes(v.storedBytes.snapshot)}, vault ` +
        `${formatBytes(v.storedBytes.vault)}, archive ${formatBytes(v.storedBytes.archive)}), dedup ` +
        `${ratioText(v.dedupRatio)}, compression ${ratioText(v.compressionRatio)}`,
      `${v.pointsKept} points kept (${v.pointsSoftDeleted} soft-deleted); jobs ${v.jobsSucceeded} succeeded, ` +
        `${v.jobsFailed} failed; ${v.itemsCompliant} of ${report.items.length} items within their RPO`,
    ];
    const headers = [
      "DISK",
      "POLICY",
      "SIZE",
      "SNAPSHOT",
      "VAULT",
      "ARCHIVE",
      "DEDUP",
      "COMPR",
      "POINTS",
      "JOBS OK/FAILED",
      "RPO OK",
      "LAST GOOD",
    ];
    ctx.print(
      report,
      report.items.length === 0
        ? summary.join("\n")
        : `${summary.join("\n")}\n\n${table(headers, report.items.map(itemRow))}`,
    );
  });
}

import { ValidationError } from "../../errors.ts";
import { restoreFormat } from "../../util/restore-format.ts";
import { type CommandContext, integerOption, onePositional, requiredOption, withVault } from "../context.ts";
import { formatBytes, formatRate } from "../format.ts";
import { progressReporter } from "../progress.ts";
import type { ProgressMode } from "../table/progress-option.ts";

/** `blockvault restore POINT --to PATH [--force] [--format F] [--offset N --length N] [--progress MODE]`. */
export async function restoreCommand(ctx: CommandContext): Promise<void> {
  if (typeof ctx.values["vm-point"] === "string") {
    return (await import("./vm.ts")).restoreVmCommand(ctx, ctx.values["vm-point"], requiredOption(ctx, "to"));
  }
  const pointId = onePositional(ctx, "RECOVERY_POINT_ID");
  const to = requiredOption(ctx, "to");
  const offset = integerOption(ctx, "offset");
  const length = integerOption(ctx, "length");
  if ((offset === undefined) !== (length === undefined)) {
    throw new ValidationError("a byte-range restore needs both --offset and --length");
  }
  await withVault(ctx.global, async (vault) => {
    const progress = progressReporter(
      "restore",
      ctx.values.progress as ProgressMode | undefined,
      ctx.global.json,
    );
    try {
      const r = await vault.restoreToFile(pointId, to, {
        force: ctx.values.force === true,
        ...(typeof ctx.values.format === "string"
          ? { format: restoreFormat(ctx.values.format, offset !== undefined) }
          : {}),
        onProgress: progress.update,
        ...(offset !== undefined && length !== undefined ? { range: { offset, length } } : {}),
      });
      progress.succeeded(r.bytesRestored, r.durationMs, {
        recoveryPointId: r.recoveryPointId,
        target: r.target,
      });
      const peakRssBytes = process.resourceUsage().maxRSS * 1024;
      ctx.print(
        { ...r, peakRssBytes },
        `Restored ${formatBytes(r.bytesRestored)} of ${r.recoveryPointId} to ${r.target} in ${(r.durationMs / 1000).toFixed(1)} s (${formatRate(r.bytesRestored, r.durationMs)}), ${r.blocksVerified} blocks verified`,
      );
    } finally {
      progress.close();
    }
  });
}

import { openSource } from "../../compose/open-source.ts";
import { type CommandContext, onePositional, requiredOption, withVault } from "../context.ts";
import { formatBytes, formatRate } from "../format.ts";
import { progressReporter } from "../progress.ts";
import type { ProgressMode } from "../table/progress-option.ts";

/** `blockvault backup IMAGE --disk NAME [--progress MODE]`: backs up an image as a new recovery point. */
export async function backupCommand(ctx: CommandContext): Promise<void> {
  if (typeof ctx.values.vm === "string") {
    return (await import("./vm.ts")).backupVmCommand(ctx, ctx.values.vm);
  }
  const image = onePositional(ctx, "IMAGE (a disk image, block device, s3://bucket/key or ebs://snap-id)");
  const disk = requiredOption(ctx, "disk");
  await withVault(ctx.global, async (vault) => {
    const source = await openSource(image, ctx.global.aws?.aws);
    const progress = progressReporter(
      "backup",
      ctx.values.progress as ProgressMode | undefined,
      ctx.global.json,
    );
    try {
      const r = await vault.backup(source, { disk, onProgress: progress.update });
      progress.succeeded(r.bytesScanned, r.durationMs, { recoveryPointId: r.recoveryPointId, disk });
      const peakRssBytes = process.resourceUsage().maxRSS * 1024;
      ctx.print(
        { ...r, format: source.format, peakRssBytes },
        [
          `Recovery point ${r.recoveryPointId} of disk "${disk}" (${r.parent ? `incremental on ${r.parent}` : "full"})`,
          `  scanned ${formatBytes(r.bytesScanned)} in ${(r.durationMs / 1000).toFixed(1)} s (${formatRate(r.bytesScanned, r.durationMs)})`,
          `  changed ${formatBytes(r.bytesChanged)}, stored ${formatBytes(r.bytesStored)} (${r.blocksNew} new blocks)`,
        ].join("\n"),
      );
    } finally {
      progress.close();
      await source.close();
    }
  });
}

import { withPrediction } from "../../engine/restore/predict.ts";
import { ValidationError } from "../../errors.ts";
import type { JobStatus } from "../../model.ts";
import { type CommandContext, integerOption, withVault } from "../context.ts";
import { formatBytes, formatTime, table } from "../format.ts";

/** `blockvault list [--disk NAME]`: recovery points, newest first. */
export async function listCommand(ctx: CommandContext): Promise<void> {
  if (typeof ctx.values.vm === "string") return (await import("./vm.ts")).listVmCommand(ctx, ctx.values.vm);
  if (ctx.positionals.length > 0) throw new ValidationError(`unexpected argument "${ctx.positionals[0]}"`);
  const disk = typeof ctx.values.disk === "string" ? ctx.values.disk : undefined;
  await withVault(ctx.global, async (vault) => {
    const points = (await vault.listPoints(disk)).map(withPrediction);
    const rows = points.map((p) => [
      p.id,
      p.disk,
      formatTime(p.created),
      p.parent ? "incremental" : "full",
      formatBytes(p.logicalSize),
      formatBytes(p.bytesStored),
      p.tier,
      p.state,
      `~${formatDuration(p.predictedRestoreMs)}`,
    ]);
    ctx.print(
      points,
      points.length === 0
        ? "No recovery points."
        : table(["ID", "DISK", "CREATED", "KIND", "SIZE", "STORED", "TIER", "STATE", "RESTORE"], rows),
    );
  });
}

/** `blockvault jobs [--status S] [--limit N]`: tracked jobs, newest first. */
export async function jobsCommand(ctx: CommandContext): Promise<void> {
  if (ctx.positionals.length > 0) throw new ValidationError(`unexpected argument "${ctx.positionals[0]}"`);
  // Its values were checked against the command table's choices.
  const status = ctx.values.status as JobStatus | undefined;
  const limit = integerOption(ctx, "limit");
  await withVault(ctx.global, async (vault) => {
    const jobs = await vault.listJobs({
      ...(status ? { status } : {}),
      ...(limit !== undefined ? { limit } : {}),
    });
    const rows = jobs.map((j) => [
      j.id,
      j.type,
      j.status,
      j.disk ?? "",
      formatTime(j.started),
      j.ended ? `${((j.ended - j.started) / 1000).toFixed(1)} s` : "",
      formatBytes(j.bytesStored),
      j.error ?? "",
    ]);
    ctx.print(
      jobs,
      jobs.length === 0
        ? "No jobs."
        : table(["ID", "TYPE", "STATUS", "DISK", "STARTED", "TOOK", "STORED", "ERROR"], rows),
    );
  });
}

/** A duration for a listing: seconds under two minutes, minutes under two hours, else hours. */
function formatDuration(ms: number): string {
  if (ms < 120_000) return `${Math.ceil(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.ceil(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

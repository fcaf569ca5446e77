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
    const points = await vault.listPoints(disk);
    const rows = points.map((p) => [
      p.id,
      p.disk,
      formatTime(p.created),
      p.parent ? "incremental" : "full",
      formatBytes(p.logicalSize),
      formatBytes(p.bytesStored),
      p.tier,
      p.state,
    ]);
    ctx.print(
      points,
      points.length === 0
        ? "No recovery points."
        : table(["ID", "DISK", "CREATED", "KIND", "SIZE", "STORED", "TIER", "STATE"], rows),
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

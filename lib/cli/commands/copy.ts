import type { AwsVaultOptions } from "../../compose/aws.ts";
import { ValidationError } from "../../errors.ts";
import { POLICY_LIMITS } from "../../policy/policy.ts";
import {
  type CommandContext,
  type GlobalOptions,
  integerOption,
  onePositional,
  openVault,
  requiredOption,
  withVault,
} from "../context.ts";
import { formatBytes } from "../format.ts";
import { progressReporter } from "../progress.ts";
import type { ProgressMode } from "../table/progress-option.ts";

/**
 * `blockvault copy POINT --to-vault DIR|s3://BUCKET[/PREFIX]`: copies a recovery point into a
 * second vault, as a point of its own there.
 */
export async function copyCommand(ctx: CommandContext): Promise<void> {
  const pointId = onePositional(ctx, "RECOVERY_POINT_ID");
  const destination = destinationOptions(ctx, requiredOption(ctx, "to-vault"));
  const disk = typeof ctx.values.disk === "string" ? ctx.values.disk : undefined;
  const retainDays = retainDaysOption(integerOption(ctx, "retain-days"));
  await withVault(ctx.global, async (source) => {
    const target = await openVault(destination);
    const progress = progressReporter(
      "copy",
      ctx.values.progress as ProgressMode | undefined,
      ctx.global.json,
    );
    try {
      const r = await source.copyPoint(pointId, target, {
        ...(disk ? { disk } : {}),
        ...(retainDays !== undefined ? { retainDays } : {}),
        onProgress: progress.update,
      });
      progress.succeeded(r.bytesScanned, r.durationMs, { recoveryPointId: r.recoveryPointId, disk: r.disk });
      ctx.print(
        r,
        [
          `Copied ${pointId} to recovery point ${r.recoveryPointId} of disk "${r.disk}" in vault ${target.name} (${r.parent ? `incremental on ${r.parent}` : "full"})`,
          `  fetched ${formatBytes(r.bytesFetched)} from the source, stored ${formatBytes(r.bytesStored)} (${r.blocksNew} new blocks)`,
        ].join("\n"),
      );
    } finally {
      progress.close();
      await target.close();
    }
  });
}

/** `--retain-days`, in the range a policy's copy rule allows. */
function retainDaysOption(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const { min, max } = POLICY_LIMITS.copyRetentionDays;
  if (value < min || value > max)
    throw new ValidationError(`--retain-days must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

/**
 * The destination vault's options: an embedded vault's directory (its own keyring, `--to-keyring`,
 * and token, `--to-token`), or `s3://BUCKET[/PREFIX]` with `--to-table` (and `--to-kms-key`) for a
 * vault on AWS, reached with the credentials and region in use.
 */
function destinationOptions(ctx: CommandContext, where: string): GlobalOptions {
  const value = (name: string) =>
    typeof ctx.values[name] === "string" ? (ctx.values[name] as string) : undefined;
  const base = { json: ctx.global.json, keyring: value("to-keyring"), token: value("to-token") };
  if (!where.startsWith("s3://")) return { ...base, vault: where };
  const [bucket, ...prefix] = where.slice("s3://".length).split("/");
  if (!bucket) throw new ValidationError(`--to-vault ${where}: expected s3://BUCKET[/PREFIX]`);
  const table = value("to-table");
  if (!table)
    throw new ValidationError(`--to-vault ${where}: a vault on S3 needs its catalog table (--to-table)`);
  const kmsKey = value("to-kms-key");
  const aws: AwsVaultOptions = {
    bucket,
    table,
    ...(prefix.join("/") ? { prefix: prefix.join("/") } : {}),
    ...(kmsKey ? { kmsKey } : {}),
    aws:
      ctx.global.aws?.aws ?? (process.env.AWS_ENDPOINT_URL ? { endpoint: process.env.AWS_ENDPOINT_URL } : {}),
  };
  return { ...base, vault: ctx.global.vault, aws };
}

import { basename, resolve } from "node:path";
import type { AwsVaultOptions } from "../../adapters/aws/aws-vault.ts";
import { initLocalVault, localVaultPaths } from "../../adapters/local/local-vault.ts";
import { type CommandContext, integerOption } from "../context.ts";
import { formatBytes } from "../format.ts";
import { checkVaultDir } from "../vault-dir.ts";

/** `blockvault init [--name N] [--block-size B]`: creates an embedded vault. */
export async function initCommand(ctx: CommandContext): Promise<void> {
  const name = typeof ctx.values.name === "string" ? ctx.values.name : basename(resolve(ctx.global.vault));
  const blockSize = integerOption(ctx, "block-size");
  if (ctx.global.aws) return initOnAws(ctx, ctx.global.aws, name, blockSize);
  await checkVaultDir(ctx.global.vault);
  const vault = await initLocalVault(
    ctx.global.vault,
    { name, ...(blockSize !== undefined ? { blockSize } : {}) },
    ctx.global.keyring ? { keyring: ctx.global.keyring } : {},
  );
  try {
    const paths = localVaultPaths(ctx.global.vault, ctx.global.keyring);
    const cfg = vault.ctx.config;
    ctx.print(
      {
        vaultId: cfg.vaultId,
        name: cfg.name,
        path: paths.dir,
        keyring: paths.keyring,
        blockSize: cfg.blockSize,
      },
      [
        `Created vault "${cfg.name}" (${cfg.vaultId}) in ${paths.dir}`,
        `  block size ${formatBytes(cfg.blockSize)}, zstd level ${cfg.zstdLevel}, AES-256-GCM`,
        `  master key in ${paths.keyring} (mode 0600): back it up; without it the vault cannot be read`,
      ].join("\n"),
    );
  } finally {
    await vault.close();
  }
}

async function initOnAws(
  ctx: CommandContext,
  aws: AwsVaultOptions,
  name: string,
  blockSize: number | undefined,
): Promise<void> {
  const { initAwsVault } = await import("../../adapters/aws/aws-vault.ts");
  const vault = await initAwsVault(aws, { name, ...(blockSize !== undefined ? { blockSize } : {}) });
  try {
    const cfg = vault.ctx.config;
    const where = `s3://${aws.bucket}/${aws.prefix ?? ""}`;
    ctx.print(
      {
        vaultId: cfg.vaultId,
        name: cfg.name,
        bucket: aws.bucket,
        prefix: aws.prefix ?? "",
        table: aws.table,
        kmsKey: cfg.dedupKey.masterKeyId,
        blockSize: cfg.blockSize,
      },
      [
        `Created vault "${cfg.name}" (${cfg.vaultId}) in ${where}`,
        `  catalog in DynamoDB table ${aws.table}, keys from KMS key ${cfg.dedupKey.masterKeyId}`,
        `  block size ${formatBytes(cfg.blockSize)}, zstd level ${cfg.zstdLevel}, AES-256-GCM`,
      ].join("\n"),
    );
  } finally {
    await vault.close();
  }
}

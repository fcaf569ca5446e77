import { s3Client } from "../../adapters/aws/clients.ts";
import { S3ObjectStore } from "../../adapters/aws/s3-object-store.ts";
import { FsObjectArchive } from "../../adapters/local/fs-object-archive.ts";
import { FsObjectStore } from "../../adapters/local/fs-object-store.ts";
import { localVaultPaths } from "../../adapters/local/local-vault.ts";
import { listPrincipals } from "../../adapters/local/principals.ts";
import { startEmbeddedRuntime } from "../../app/embedded.ts";
import { localTokenPrincipals } from "../../app/http/principals.ts";
import { ValidationError } from "../../errors.ts";
import type { ObjectArchive } from "../../ports/object-archive.ts";
import { type CommandContext, integerOption, openVault } from "../context.ts";

/**
 * `blockvault serve [--host H] [--port N] [--tick-seconds N]`: runs the serverless application
 * on this machine — the HTTP API, the scheduler, the queue and the state machines — until
 * interrupted.
 */
export async function serveCommand(ctx: CommandContext): Promise<void> {
  if (ctx.positionals.length > 0) throw new ValidationError(`unexpected argument "${ctx.positionals[0]}"`);
  const port = integerOption(ctx, "port") ?? 8080;
  const tickSeconds = integerOption(ctx, "tick-seconds") ?? 60;
  const host = typeof ctx.values.host === "string" ? ctx.values.host : "127.0.0.1";
  await refuseOpenExposure(ctx, host);
  const vault = await openVault(ctx.global);
  const aws = ctx.global.aws;
  let archive: ObjectArchive;
  if (aws) {
    archive = new S3ObjectStore(s3Client(aws.aws ?? {}), {
      bucket: aws.bucket,
      ...(aws.prefix ? { prefix: aws.prefix } : {}),
    });
  } else {
    const paths = localVaultPaths(ctx.global.vault);
    const clock = vault.ctx.deps.clock;
    archive = new FsObjectArchive(new FsObjectStore(paths.objects, { clock }), { clock });
  }
  // Served locally, a vault on AWS is used with this process's own AWS credentials: its callers
  // act as the principal those credentials are (there is no IAM identity on a local request).
  const principals = aws
    ? async () => vault.principal
    : localTokenPrincipals(localVaultPaths(ctx.global.vault).principals);
  const runtime = await startEmbeddedRuntime({
    vault,
    archive,
    principals,
    host,
    port,
    tickMs: tickSeconds * 1000,
    log: (line) => console.error(line),
    ...(aws?.aws ? { aws: aws.aws } : {}),
  });
  ctx.print(
    { url: runtime.url, vault: vault.id },
    `blockvault serving vault "${vault.name}" at ${runtime.url} (scheduler every ${tickSeconds} s); Ctrl-C stops`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await runtime.stop();
  await vault.close();
}

/** Loopback addresses: only this machine reaches them. */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/**
 * Refuses to expose a vault whose callers would all act as its owner — an embedded vault without
 * principals, or a vault on AWS used with this process's credentials — on an address other
 * machines can reach.
 */
async function refuseOpenExposure(ctx: CommandContext, host: string): Promise<void> {
  if (isLoopback(host)) return;
  const open = ctx.global.aws
    ? true
    : (await listPrincipals(localVaultPaths(ctx.global.vault).principals)).length === 0;
  if (open) {
    throw new ValidationError(
      `refusing to serve on ${host}: every caller would act as the vault's owner; ${
        ctx.global.aws
          ? "serve a vault on AWS on localhost only"
          : "add principals first (blockvault principal add)"
      }`,
    );
  }
}

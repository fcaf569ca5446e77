import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { ensureConsoleAssets } from "../../app/console/assets.ts";
import { serveTokenPath, serveTokenPrincipals, writeServeToken } from "../../app/http/serve-token.ts";
import { localPrincipals, vaultArchive } from "../../compose/cli.ts";
import { startEmbeddedRuntime } from "../../compose/embedded.ts";
import { ValidationError } from "../../errors.ts";
import { type CommandContext, integerOption, openVault } from "../context.ts";
import { parsePort } from "../port.ts";
import { listenAddress } from "../serve-address.ts";

/**
 * `blockvault serve [--host H] [--port N] [--tick-seconds N] [--alert-webhook URL] [--drill-dir DIR]`: runs the serverless application
 * on this machine — the HTTP API, the scheduler, the queue and the state machines — until
 * interrupted. Every request needs a bearer token: a principal's, or, while the vault has none,
 * the server's own, written to `serve-token` in the vault directory at each start.
 */
export async function serveCommand(ctx: CommandContext): Promise<void> {
  if (ctx.positionals.length > 0) throw new ValidationError(`unexpected argument "${ctx.positionals[0]}"`);
  const port = parsePort(ctx.values.port, 8080);
  const tickSeconds = integerOption(ctx, "tick-seconds") ?? 60;
  const webhook = typeof ctx.values["alert-webhook"] === "string" ? ctx.values["alert-webhook"] : undefined;
  const drillDir =
    typeof ctx.values["drill-dir"] === "string" ? await drillDirectory(ctx.values["drill-dir"]) : undefined;
  const hostName = typeof ctx.values.host === "string" ? ctx.values.host : "127.0.0.1";
  const address = await listenAddress(hostName, await openExposure(ctx));
  const vault = await openVault(ctx.global);
  const aws = ctx.global.aws;
  const archive = await vaultArchive({ dir: ctx.global.vault, aws }, vault.ctx.deps.clock);
  // Served locally, a vault on AWS is used with this process's own AWS credentials: its callers
  // act as the principal those credentials are (there is no IAM identity on a local request),
  // and they prove it with the server's token, kept in the --vault directory.
  const tokenFile = serveTokenPath(ctx.global.vault);
  const serveToken = await writeServeToken(tokenFile);
  const principals = aws ? undefined : vault.ctx.deps.principals;
  const log = (line: string) => console.error(line);
  const consoleAssets = await ensureConsoleAssets(log);
  const runtime = await startEmbeddedRuntime({
    vault,
    archive,
    principals: serveTokenPrincipals({
      serveToken,
      tokenFile,
      ...(aws ? { owner: vault.principal } : {}),
      ...(principals ? { principals } : {}),
    }),
    host: address,
    hostName,
    port,
    tickMs: tickSeconds * 1000,
    log,
    ...(webhook ? { alertWebhook: webhook } : {}),
    ...(drillDir ? { drillScratch: drillDir } : {}),
    ...(consoleAssets ? { console: consoleAssets } : {}),
    ...(aws?.aws ? { aws: aws.aws } : {}),
    awsTargets: aws !== undefined,
  });
  // Listening for the stop signal before saying the server is up: a supervisor that stops it as
  // soon as it reads the line must find the handler in place.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  const withPrincipals = principals !== undefined && (await principals.list()).principals.length > 0;
  ctx.print(
    { url: runtime.url, vault: vault.id, tokenFile },
    [
      `blockvault serving vault "${vault.name}" at ${runtime.url} (${tickSeconds > 0 ? `scheduler every ${tickSeconds} s` : "scheduler off"}); Ctrl-C stops`,
      `The web console: ${runtime.url}/console/${consoleAssets ? "" : " (not built: npm run build:console)"}`,
      withPrincipals
        ? 'Requests need a principal\'s API token: -H "Authorization: Bearer $BLOCKVAULT_TOKEN"'
        : `Requests need the server's token: curl -H "Authorization: Bearer $(cat ${tokenFile})" ${runtime.url}/jobs`,
    ].join("\n"),
  );
  await stopped;
  await runtime.stop();
  await vault.close();
}

/**
 * Whether every caller would act as the vault's owner — an embedded vault without principals,
 * or a vault on AWS used with this process's credentials — and what to do about it: such a
 * server is kept on loopback.
 */
async function openExposure(ctx: CommandContext): Promise<{ why: string } | undefined> {
  if (ctx.global.aws) return { why: "serve a vault on AWS on localhost only" };
  const { principals } = await localPrincipals(ctx.global.vault).list();
  return principals.length === 0 ? { why: "add principals first (blockvault principal add)" } : undefined;
}

/** `--drill-dir`: an existing directory, as its absolute path. */
async function drillDirectory(dir: string): Promise<string> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new ValidationError(`--drill-dir ${dir} is not an existing directory`);
  return resolve(dir);
}

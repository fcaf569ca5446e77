import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { AwsConfig } from "../adapters/aws/clients.ts";
import { webhookUrl } from "../adapters/local/webhook-alerts.ts";
import type { AppContext } from "../app/app-context.ts";
import type { ConsoleAssets } from "../app/console/assets.ts";
import { guarded, listen } from "../app/http/embedded-front.ts";
import { type LocalAuthority, localAuthority } from "../app/http/local-guard.ts";
import { nodeListener } from "../app/http/node-http.ts";
import { healthResponse } from "../app/http/observe.ts";
import { servedSpec } from "../app/http/served-spec.ts";
import type { ResolvePrincipal } from "../app/http/types.ts";
import { LocalWorkflows, type LocalWorkflowsOptions } from "../app/local-workflows.ts";
import { runScheduledChecks, type ScheduledChecks } from "../app/observe/scheduled-checks.ts";
import { schedulerTick, type TickReport } from "../app/scheduler.ts";
import type { ObjectArchive } from "../ports/object-archive.ts";
import { Machine } from "../ports/workflows.ts";
import type { Vault } from "../vault.ts";
import { buildLocalApp, type LocalApp } from "./local-app.ts";

/** How `blockvault serve` runs. */
export interface EmbeddedOptions {
  readonly vault: Vault;
  readonly archive?: ObjectArchive;
  /** Who a request is: bearer tokens of the vault's principals, embedded. */
  readonly principals: ResolvePrincipal;
  /**
   * The address to listen on, loopback by default: anyone who can reach the port can use the
   * vault's principals. `serve` passes the address it resolved and checked, not a name.
   */
  readonly host?: string;
  /** The name the server was asked to serve on (`--host`): requests may name it in `Host`. */
  readonly hostName?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Scheduler tick period; 0 disables the timer (ticks are then driven by calling `tick`). */
  readonly tickMs?: number;
  /** Shortened waits for tests: Wait states and retry pauses of the state machines. */
  readonly waitMs?: number;
  readonly retryIntervalMs?: number;
  /** Told of every Lambda task the state machines ran (see {@link LocalWorkflowsOptions.onTask}). */
  readonly onTask?: LocalWorkflowsOptions["onTask"];
  /** Redelivery backoff of the in-process queue. */
  readonly queueBackoffMs?: (attempt: number) => number;
  readonly log?: (line: string) => void;
  /** Where restore drills make their scratch directories; the system's temporary directory by default. */
  readonly drillScratch?: string;
  /** Where alerts are POSTed too, besides the log: an http(s) URL (checked before listening). */
  readonly alertWebhook?: string;
  /** How sources and restore targets on AWS are reached; the environment's by default. */
  readonly aws?: AwsConfig;
  /** Whether restores may target S3 and EBS (a vault on AWS); by default when `aws` is given. */
  readonly awsTargets?: boolean;
  /** The web console's bundle, served at /console/ (without it, /console/ says how to build it). */
  readonly console?: ConsoleAssets;
}

/** The request line and headers the embedded server reads, at most. */
const MAX_HEADER_BYTES = 128 * 1024;

/** What an embedded tick did: the scheduler's tick, the scheduled checks, the copy run started. */
export interface EmbeddedTickReport extends TickReport, ScheduledChecks {
  /** The copy run this tick started (or found started this minute): `workflows.wait` it. */
  readonly copyExecution: string;
}

/** A running embedded runtime. */
export interface EmbeddedRuntime {
  readonly url: string;
  readonly app: AppContext;
  readonly local: LocalApp;
  readonly workflows: LocalWorkflows;
  /**
   * One scheduler tick now: backups due, retention, the missed-RPO check, the day's tiering and
   * expiry runs, a copy run once the tick's backups have landed, then the scheduled
   * verifications and restore drills due.
   */
  tick(): Promise<EmbeddedTickReport>;
  /** Waits until queued backups and started executions have finished. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The serverless application on one machine: the HTTP API on a local port, the scheduler on a
 * timer, the fan-out queue in process, and the same ASL state machines run by
 * aws-local-stepfunctions with their Lambda tasks calling the local handlers.
 */
export async function startEmbeddedRuntime(options: EmbeddedOptions): Promise<EmbeddedRuntime> {
  const log = options.log ?? (() => {});
  let workflows!: LocalWorkflows;
  const local = buildLocalApp({
    vault: options.vault,
    ...(options.archive ? { archive: options.archive } : {}),
    workflows: (app) => {
      workflows = new LocalWorkflows({
        app,
        ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}),
        ...(options.retryIntervalMs !== undefined ? { retryIntervalMs: options.retryIntervalMs } : {}),
        ...(options.onTask ? { onTask: options.onTask } : {}),
      });
      return workflows;
    },
    ...(options.queueBackoffMs ? { queue: { backoffMs: options.queueBackoffMs } } : {}),
    alertSink: log,
    ...(options.alertWebhook ? { alertWebhook: webhookUrl(options.alertWebhook) } : {}),
    ...(options.aws ? { aws: options.aws } : {}),
    ...(options.awsTargets !== undefined ? { awsTargets: options.awsTargets } : {}),
  });
  const app = local.app;
  const clock = options.vault.ctx.deps.clock;
  const checks = () =>
    runScheduledChecks(app, options.drillScratch ? { scratchRoot: options.drillScratch } : {});
  const tick = async (): Promise<EmbeddedTickReport> => {
    let report: TickReport;
    try {
      report = await schedulerTick(app);
    } catch (err) {
      // What broke the tick (a pack gone missing, say) is what verification is there to find:
      // the scheduled checks still run, and alert, before the tick's failure is reported.
      await checks().catch(() => undefined);
      throw err;
    }
    // Tiering decides what to archive from the points that exist: let this tick's backups land
    // first, so a pack a new point shares is not archived under it.
    await local.queue.drained();
    // Once a day each: execution names carry the date, so later ticks of the day start nothing.
    const day = new Date(clock.now()).toISOString().slice(0, 10).replaceAll("-", "");
    await app.workflows.start(Machine.Tiering, `tiering-${day}`, {});
    await app.workflows.start(Machine.Expiry, `expiry-${day}`, {});
    // Copies follow the backups they copy; one run a minute at most (the name carries the minute).
    const minute = new Date(clock.now()).toISOString().slice(0, 16).replace(/[-:T]/g, "");
    const copy = await app.workflows.start(Machine.Copy, `copy-${minute}`, {});
    // After this tick's backups: a verification or a drill sees the points they made.
    return { ...report, ...(await checks()), copyExecution: copy.executionId };
  };

  let authority: LocalAuthority | undefined;
  const specText = JSON.stringify(
    servedSpec({ awsTargets: options.awsTargets ?? options.aws !== undefined }),
  );
  const health = () => healthResponse(options.vault, log);
  const server = createServer(
    // A file's path in a query may be 4096 characters of 4-byte UTF-8 (48 KiB percent-encoded),
    // past Node's 16 KiB default: the API, not the parser, answers an over-long one (400).
    { maxHeaderSize: MAX_HEADER_BYTES },
    guarded(nodeListener(app, options.principals), () => authority, specText, health, options.console),
  );
  await listen(server, options.port ?? 8080, options.host ?? "127.0.0.1");
  const { address, port } = server.address() as AddressInfo;
  authority = localAuthority(address, port, options.hostName);
  const host = address.includes(":") ? `[${address}]` : address;
  let timer: NodeJS.Timeout | undefined;
  if ((options.tickMs ?? 60_000) > 0) {
    let running = false;
    timer = setInterval(() => {
      // A tick waits for its backups; a slow one must not pile up ticks behind it.
      if (running) return;
      running = true;
      tick()
        .catch((err: unknown) =>
          log(`scheduler tick failed: ${err instanceof Error ? err.message : String(err)}`),
        )
        .finally(() => {
          running = false;
        });
    }, options.tickMs ?? 60_000);
    timer.unref();
  }
  const settle = async () => {
    await local.queue.drained();
    await workflows.idle();
  };
  return {
    url: `http://${host}:${port}`,
    app,
    local,
    workflows,
    tick,
    settle,
    async stop() {
      if (timer) clearInterval(timer);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await settle();
    },
  };
}

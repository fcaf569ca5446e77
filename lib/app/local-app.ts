import type { AwsConfig } from "../adapters/aws/clients.ts";
import { LogAlerts } from "../adapters/local/log-alerts.ts";
import { InProcessQueue, type InProcessQueueOptions } from "../adapters/local/memory-queue.ts";
import type { ObjectArchive } from "../ports/object-archive.ts";
import type { Workflows } from "../ports/workflows.ts";
import type { Vault } from "../vault.ts";
import type { AppContext } from "./app-context.ts";
import { openSource } from "./open-source.ts";
import { openTarget } from "./open-target.ts";
import { runSnapshot } from "./snapshot.ts";

/** The embedded runtime's application and the in-process parts tests and `serve` look into. */
export interface LocalApp {
  readonly app: AppContext;
  readonly queue: InProcessQueue;
  readonly alerts: LogAlerts;
}

/** What the embedded runtime is built from. */
export interface LocalAppOptions {
  readonly vault: Vault;
  /**
   * The state-machine runner, built by the caller. Its tasks need the app it belongs to, so it
   * gets a way to reach the app once built rather than the app itself.
   */
  readonly workflows: (app: () => AppContext) => Workflows;
  readonly archive?: ObjectArchive;
  readonly queue?: InProcessQueueOptions;
  readonly alertSink?: (line: string) => void;
  /** How sources and restore targets on AWS (s3://, ebs://) are reached; the environment's by default. */
  readonly aws?: AwsConfig;
}

/**
 * The application on the embedded vault: the queue delivers in process to the snapshot worker,
 * alerts go to a log, restores may target files, and the disks' own sources are protected.
 */
export function buildLocalApp(options: LocalAppOptions): LocalApp {
  const alerts = new LogAlerts(options.alertSink);
  let built: AppContext | undefined;
  const self = (): AppContext => {
    if (!built) throw new Error("the embedded application is used before it is built");
    return built;
  };
  const queue = new InProcessQueue(
    (request, delivery) => runSnapshot(self(), request, delivery),
    options.queue,
  );
  const app: AppContext = {
    vault: async () => options.vault,
    queue,
    alerts,
    openSource: (spec: string) => (options.aws ? openSource(spec, options.aws) : openSource(spec)),
    openTarget: async (spec: Parameters<AppContext["openTarget"]>[0], size: number) => {
      const disks = await options.vault.ctx.deps.catalog.listDisks(options.vault.id);
      return openTarget(spec, size, {
        protectedPaths: disks.map((d) => d.source),
        ...(options.vault.ctx.deps.ownFiles ? { vaultFiles: options.vault.ctx.deps.ownFiles } : {}),
        ...(options.aws ? { aws: options.aws } : {}),
      });
    },
    ...(options.archive ? { archive: options.archive } : {}),
    workflows: options.workflows(self),
  };
  built = app;
  return { app, queue, alerts };
}

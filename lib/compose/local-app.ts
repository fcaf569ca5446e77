import type { AwsConfig } from "../adapters/aws/clients.ts";
import { LogAlerts } from "../adapters/local/log-alerts.ts";
import { InProcessQueue, type InProcessQueueOptions } from "../adapters/local/memory-queue.ts";
import { FanOutAlerts, WebhookAlerts } from "../adapters/local/webhook-alerts.ts";
import type { AppContext, RestoreTargetSpec } from "../app/app-context.ts";
import { checkFileTarget } from "../app/file-target-check.ts";
import { runSnapshot } from "../app/snapshot.ts";
import { ValidationError } from "../errors.ts";
import type { ObjectArchive } from "../ports/object-archive.ts";
import type { Workflows } from "../ports/workflows.ts";
import { mayPerform, Operation, type Principal } from "../rules/roles.ts";
import type { Vault } from "../vault.ts";
import { copyDestinations } from "./copy-destinations.ts";
import { openSource } from "./open-source.ts";
import { openTarget } from "./open-target.ts";
import { openVmDeps } from "./vm.ts";

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
  /** Where alerts are POSTed too, besides the log (`serve --alert-webhook`). */
  readonly alertWebhook?: URL;
  /** How sources and restore targets on AWS (s3://, ebs://) are reached; the environment's by default. */
  readonly aws?: AwsConfig;
  /** Whether restores may target S3 and EBS (a vault on AWS); by default when `aws` is given. */
  readonly awsTargets?: boolean;
}

/**
 * The application on the embedded vault: the queue delivers in process to the snapshot worker,
 * alerts go to a log, restores may target files, and the disks' own sources are protected.
 */
export function buildLocalApp(options: LocalAppOptions): LocalApp {
  const awsTargets = options.awsTargets ?? options.aws !== undefined;
  const alerts = new LogAlerts(options.alertSink);
  const published = options.alertWebhook
    ? new FanOutAlerts([alerts, new WebhookAlerts(options.alertWebhook)], options.alertSink ?? console.error)
    : alerts;
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
    alerts: published,
    openSource: (spec: string) => (options.aws ? openSource(spec, options.aws) : openSource(spec)),
    openVmDeps: (vm) => openVmDeps(vm, alerts),
    openTarget: async (spec: RestoreTargetSpec, size: number) => {
      const disks = await options.vault.ctx.deps.catalog.listDisks(options.vault.id);
      // Checked again as the restore opens it: the settings or the filesystem may have changed
      // since the request (the caller's role was checked then).
      if (spec.kind !== "file") checkAwsKind(spec, awsTargets);
      const checked =
        spec.kind === "file" ? { ...spec, path: await checkFile(options.vault, spec, true) } : spec;
      return openTarget(checked, size, {
        protectedPaths: disks.map((d) => d.source),
        ...(options.vault.ctx.deps.ownFiles ? { vaultFiles: options.vault.ctx.deps.ownFiles } : {}),
        ...(options.aws ? { aws: options.aws } : {}),
      });
    },
    checkTarget: async (spec: RestoreTargetSpec, caller: Principal) => {
      if (spec.kind === "file")
        await checkFile(options.vault, spec, mayPerform(caller, Operation.OverwriteRestoreTarget));
      else checkAwsKind(spec, awsTargets);
    },
    ...(options.archive ? { archive: options.archive } : {}),
    openCopyDestination: copyDestinations({
      directories: true,
      ...(options.aws ? { aws: options.aws } : {}),
    }),
    workflows: options.workflows(self),
  };
  built = app;
  return { app, queue, alerts };
}

/** A file target checked against the vault's restore directories; its resolved path. */
async function checkFile(
  vault: Vault,
  spec: Extract<RestoreTargetSpec, { kind: "file" }>,
  mayOverwrite: boolean,
): Promise<string> {
  const settings = await vault.ctx.deps.catalog.getSettings(vault.id);
  return checkFileTarget(spec.path, {
    directories: settings.restoreDirectories,
    force: spec.force ?? false,
    mayOverwrite,
  });
}

/** S3 and EBS targets need a vault on AWS: refused at once elsewhere, not queued to fail. */
function checkAwsKind(spec: RestoreTargetSpec, awsTargets: boolean): void {
  if (!awsTargets) {
    throw new ValidationError(
      `body.target.kind "${spec.kind}" needs a vault on AWS (blockvault serve --backend aws); this vault restores to files only`,
    );
  }
}

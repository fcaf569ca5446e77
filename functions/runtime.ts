import { openAwsVault } from "../lib/adapters/aws/aws-vault.ts";
import { type AwsConfig, s3Client, sfnClient, snsClient, sqsClient } from "../lib/adapters/aws/clients.ts";
import { S3ObjectStore } from "../lib/adapters/aws/s3-object-store.ts";
import { SfnWorkflows } from "../lib/adapters/aws/sfn-workflows.ts";
import { SnsAlerts } from "../lib/adapters/aws/sns-alerts.ts";
import { SqsSnapshotQueue } from "../lib/adapters/aws/sqs-queue.ts";
import type { AppContext } from "../lib/app/app-context.ts";
import { openSource } from "../lib/app/open-source.ts";
import { openTarget } from "../lib/app/open-target.ts";
import { ValidationError } from "../lib/errors.ts";
import type { Vault } from "../lib/vault.ts";
import { traceClient } from "./observability.ts";

/** An environment variable the deployment must set; a clear error names a missing one. */
function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new ValidationError(`the function's environment lacks ${name}; deploy with serverless.yml`);
  return value;
}

/**
 * Client settings of every function: the SDK's defaults, an emulator when AWS_ENDPOINT_URL says
 * so, every client's calls traced.
 */
export function awsConfig(): AwsConfig {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  return { ...(endpoint ? { endpoint } : {}), maxAttempts: 3, instrument: traceClient };
}

/** Builds the application on the AWS adapters from the function's environment. */
export function buildCloudApp(): AppContext {
  const aws = awsConfig();
  const bucket = required("BLOCKVAULT_BUCKET");
  const prefix = process.env.BLOCKVAULT_PREFIX;
  let vault: Promise<Vault> | undefined;
  return {
    vault: () => {
      vault ??= openAwsVault({
        bucket,
        table: required("BLOCKVAULT_TABLE"),
        kmsKey: required("BLOCKVAULT_KMS_KEY"),
        ...(prefix ? { prefix } : {}),
        aws,
      }).catch((err: unknown) => {
        // A failed open is not cached: the next invocation tries again.
        vault = undefined;
        throw err;
      });
      return vault;
    },
    queue: new SqsSnapshotQueue(sqsClient(aws), process.env.BLOCKVAULT_QUEUE_URL ?? ""),
    workflows: new SfnWorkflows(sfnClient(aws), {
      tiering: process.env.BLOCKVAULT_TIERING_MACHINE_ARN,
      expiry: process.env.BLOCKVAULT_EXPIRY_MACHINE_ARN,
      restore: process.env.BLOCKVAULT_RESTORE_MACHINE_ARN,
    }),
    alerts: new SnsAlerts(snsClient(aws), process.env.BLOCKVAULT_ALERT_TOPIC_ARN ?? ""),
    openSource: (spec) => openSource(spec, aws),
    // A Lambda function has no disk to restore onto: S3 objects and EBS snapshots only.
    openTarget: (spec, size) => openTarget(spec, size, { aws, files: false }),
    checkTarget: async (spec) => {
      if (spec.kind === "file")
        throw new ValidationError(
          'body.target.kind "file" is only available on the embedded runtime (blockvault serve)',
        );
    },
    archive: new S3ObjectStore(s3Client(aws), { bucket, ...(prefix ? { prefix } : {}) }),
  };
}

let app: AppContext | undefined;

/** The function's application, built on first use and kept for the container's life. */
export async function cloudApp(): Promise<AppContext> {
  app ??= buildCloudApp();
  return app;
}

import {
  type AwsConfig,
  lambdaClient,
  s3Client,
  sfnClient,
  snsClient,
  sqsClient,
} from "../adapters/aws/clients.ts";
import { LambdaWriterGate } from "../adapters/aws/lambda-writer-gate.ts";
import { S3ObjectStore } from "../adapters/aws/s3-object-store.ts";
import { SfnWorkflows } from "../adapters/aws/sfn-workflows.ts";
import { SnsAlerts } from "../adapters/aws/sns-alerts.ts";
import { SqsSnapshotQueue } from "../adapters/aws/sqs-queue.ts";
import type { AppContext } from "../app/app-context.ts";
import { ValidationError } from "../errors.ts";
import type { Vault } from "../vault.ts";
import { openAwsVault } from "./aws.ts";
import { copyDestinations } from "./copy-destinations.ts";
import { openSource } from "./open-source.ts";
import { openTarget } from "./open-target.ts";

/** An environment variable the deployment must set; a clear error names a missing one. */
function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new ValidationError(`the function's environment lacks ${name}; deploy with serverless.yml`);
  return value;
}

/**
 * The Lambda runtime's composition root: the application on the AWS adapters, from the
 * function's environment (what serverless.yml sets), every client made with `aws` (the
 * function's client settings and tracing). The vault opens on first use.
 */
export function buildCloudApp(aws: AwsConfig): AppContext {
  const bucket = required("BLOCKVAULT_BUCKET");
  const prefix = process.env.BLOCKVAULT_PREFIX;
  const commitFunction = process.env.BLOCKVAULT_COMMIT_FUNCTION;
  // The snapshot function's role may only read the catalog: its writes go to the commit function.
  const writerGate = commitFunction ? new LambdaWriterGate(lambdaClient(aws), commitFunction) : undefined;
  let vault: Promise<Vault> | undefined;
  return {
    vault: () => {
      vault ??= openAwsVault({
        bucket,
        table: required("BLOCKVAULT_TABLE"),
        kmsKey: required("BLOCKVAULT_KMS_KEY"),
        ...(prefix ? { prefix } : {}),
        ...(writerGate ? { writerGate } : {}),
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
      // Started by its schedule only: no function starts a copy run.
      copy: undefined,
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
    // A Lambda function has no directory of its own: copy rules reach vaults on S3 only.
    openCopyDestination: copyDestinations({ aws, directories: false }),
    archive: new S3ObjectStore(s3Client(aws), { bucket, ...(prefix ? { prefix } : {}) }),
  };
}

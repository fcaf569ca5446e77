import {
  CreateBucketCommand,
  type CreateBucketCommandInput,
  HeadBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { AlreadyExistsError, NotFoundError, ValidationError } from "../../errors.ts";
import { awsErrorCode, awsHttpStatus, translateAwsError } from "./aws-errors.ts";
import { type AwsConfig, dynamoDocumentClient, kmsClient, s3Client } from "./clients.ts";
import { createCatalogTable } from "./dynamo/table.ts";
import { createVaultKey, findKeyByAlias } from "./kms-key-service.ts";
import { S3ObjectStore } from "./s3-object-store.ts";

/** Where a vault on AWS lives: its bucket (and prefix), its catalog table, how to reach them. */
export interface AwsVaultLocation {
  /** The bucket holding packs, index, manifests and the vault's config. */
  readonly bucket: string;
  /** Key prefix inside the bucket, so one bucket can hold several vaults. */
  readonly prefix?: string;
  /** The DynamoDB catalog table. */
  readonly table: string;
  readonly aws?: AwsConfig;
}

/**
 * Creates what a new vault on AWS needs, each only where it does not exist yet: the bucket
 * (public access blocked, encrypted by default), the catalog table and, unless `kmsKey` names
 * one, the KMS key `alias/blockvault-<name>`. Resolves to the KMS key to use. What a user runs
 * against LocalStack or a fresh account before the serverless stack exists.
 */
export async function provisionAwsVault(
  location: AwsVaultLocation,
  name: string,
  kmsKey: string | undefined,
): Promise<string> {
  const aws = location.aws ?? {};
  const s3 = s3Client(aws);
  const dynamo = dynamoDocumentClient(aws);
  const kms = kmsClient(aws);
  try {
    await ensureBucket(s3, location.bucket, aws.region);
    await createCatalogTable(dynamo, location.table).catch((err: unknown) => {
      if (!(err instanceof AlreadyExistsError)) throw err;
    });
    if (kmsKey) return kmsKey;
    const alias = `alias/blockvault-${name}`;
    return (
      (await findKeyByAlias(kms, alias)) ??
      (await createVaultKey(kms, { alias, description: `blockvault vault ${name}` }))
    );
  } finally {
    s3.destroy();
    dynamo.destroy();
    kms.destroy();
  }
}

/** The error for a bucket (or prefix) that holds no vault. */
export function noVaultError(options: AwsVaultLocation, cause: unknown): NotFoundError {
  const where = `s3://${options.bucket}/${options.prefix ?? ""}`;
  return new NotFoundError(`${where} holds no blockvault vault (run "blockvault init --backend aws" first)`, {
    cause,
  });
}

/** The KMS key named in the vault's config (which wrapped its dedup key). */
export async function configuredKmsKey(options: AwsVaultLocation): Promise<string> {
  const s3 = s3Client(options.aws ?? {});
  try {
    const store = new S3ObjectStore(s3, {
      bucket: options.bucket,
      ...(options.prefix ? { prefix: options.prefix } : {}),
    });
    const raw = await store.get("config").catch((err: unknown) => {
      throw err instanceof NotFoundError ? noVaultError(options, err) : err;
    });
    const key = (JSON.parse(raw.toString("utf8")) as { dedupKey?: { masterKeyId?: unknown } }).dedupKey
      ?.masterKeyId;
    if (typeof key !== "string" || key === "")
      throw new ValidationError("the vault's config names no KMS key; pass --kms-key");
    return key;
  } finally {
    s3.destroy();
  }
}

/**
 * Creates the bucket unless it exists (and is ours), blocking public access and encrypting by
 * default, with Object Lock on (so versioned), so recovery points can carry storage retention, and
 * the deployment's lifecycle rule: versions no retention holds expire 30 days after they stop
 * being current (docs/design.md "Storage-level immutability").
 */
async function ensureBucket(s3: S3Client, bucket: string, region: string | undefined): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (err) {
    if (
      awsHttpStatus(err) !== 404 &&
      awsErrorCode(err) !== "NotFound" &&
      awsErrorCode(err) !== "NoSuchBucket"
    )
      throw translateAwsError(err, `check bucket ${bucket}`);
  }
  const input: CreateBucketCommandInput = {
    Bucket: bucket,
    ObjectLockEnabledForBucket: true,
    ...(region && region !== "us-east-1"
      ? { CreateBucketConfiguration: { LocationConstraint: region as never } }
      : {}),
  };
  try {
    await s3.send(new CreateBucketCommand(input));
    await s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: bucket,
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: true,
        },
      }),
    );
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
        },
      }),
    );
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: bucket,
        LifecycleConfiguration: {
          Rules: [
            {
              ID: "expire-noncurrent-versions",
              Status: "Enabled",
              Filter: { Prefix: "" },
              NoncurrentVersionExpiration: { NoncurrentDays: 30 },
            },
            {
              ID: "expire-delete-markers-and-uploads",
              Status: "Enabled",
              Filter: { Prefix: "" },
              Expiration: { ExpiredObjectDeleteMarker: true },
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
            },
          ],
        },
      }),
    );
  } catch (err) {
    throw translateAwsError(err, `create bucket ${bucket}`);
  }
}

import {
  CreateBucketCommand,
  type CreateBucketCommandInput,
  HeadBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { LimitedObjectStore } from "../../decorators/limited-object-store.ts";
import { retryingCatalog } from "../../decorators/retrying-catalog.ts";
import { RetryingKeyService } from "../../decorators/retrying-key-service.ts";
import { RetryingObjectStore } from "../../decorators/retrying-object-store.ts";
import { retryingReferences } from "../../decorators/retrying-references.ts";
import type { InitOptions, VaultDeps } from "../../engine/store/vault-config.ts";
import { AccessDeniedError, AlreadyExistsError, NotFoundError, ValidationError } from "../../errors.ts";
import { AuditOutcome } from "../../model.ts";
import { type Clock, systemClock } from "../../ports/clock.ts";
import type { PrincipalStore } from "../../ports/principals.ts";
import { principalByArn } from "../../rules/callers.ts";
import { Vault } from "../../vault.ts";
import { awsErrorCode, awsHttpStatus, translateAwsError } from "./aws-errors.ts";
import {
  type AwsConfig,
  decoratedClientConfig,
  dynamoDocumentClient,
  kmsClient,
  s3Client,
} from "./clients.ts";
import { openDynamoCatalog } from "./dynamo-catalog.ts";
import { dynamoPrincipalStore } from "./dynamo-principals.ts";
import { DynamoReferenceStore } from "./dynamo-references.ts";
import { createCatalogTable } from "./dynamo-table.ts";
import { createVaultKey, findKeyByAlias, KmsKeyService } from "./kms-key-service.ts";
import { S3ObjectStore } from "./s3-object-store.ts";
import { callerArn } from "./sts-identity.ts";

/** Where a vault on AWS lives. */
export interface AwsVaultOptions {
  /** The bucket holding packs, index, manifests and the vault's config. */
  readonly bucket: string;
  /** Key prefix inside the bucket, so one bucket can hold several vaults. */
  readonly prefix?: string;
  /** The DynamoDB catalog table. */
  readonly table: string;
  /**
   * The KMS key (id, ARN or alias). Opening a vault may leave it out: the vault's config names
   * the key that wrapped its dedup key. `init` creates `alias/blockvault-<name>` when absent.
   */
  readonly kmsKey?: string;
  readonly aws?: AwsConfig;
  readonly clock?: Clock;
}

/** S3 requests in flight per vault: enough to fill a fast link, few enough for memory. */
const S3_CONCURRENCY = 32;

/** The ports of a vault on AWS; `bind` gives them the vault's id once it is open. */
interface AwsPorts {
  readonly deps: VaultDeps;
  readonly close: () => Promise<void>;
  readonly bind: (vault: Vault) => Vault;
}

function deps(options: AwsVaultOptions, kmsKey: string): AwsPorts {
  // The retry decorators below are these clients' one retry layer: the SDK tries once.
  const aws = decoratedClientConfig(options.aws ?? {});
  const s3 = s3Client(aws);
  const kms = kmsClient(aws);
  const dynamo = dynamoDocumentClient(aws);
  const store = new S3ObjectStore(s3, {
    bucket: options.bucket,
    ...(options.prefix ? { prefix: options.prefix } : {}),
  });
  const catalog = openDynamoCatalog({ tableName: options.table, client: dynamo });
  let vaultId: string | undefined;
  return {
    deps: {
      store: new RetryingObjectStore(new LimitedObjectStore(store, S3_CONCURRENCY)),
      catalog: retryingCatalog(catalog),
      keys: new RetryingKeyService(new KmsKeyService(kms, kmsKey)),
      clock: options.clock ?? systemClock,
      // In the catalog's table; no retry decorator: a stale hold is a retryable ConflictError
      // that the backup must see (to run again on a fresh index), not one to repeat blindly.
      references: retryingReferences(new DynamoReferenceStore({ tableName: options.table, client: dynamo })),
      principals: dynamoPrincipalStore({ tableName: options.table, client: dynamo, vaultId: () => vaultId }),
    },
    bind: (vault) => {
      vaultId = vault.id;
      return vault;
    },
    close: async () => {
      await catalog.close();
      s3.destroy();
      kms.destroy();
      dynamo.destroy();
    },
  };
}

function checkNames(options: AwsVaultOptions): void {
  if (!options.bucket)
    throw new ValidationError("missing the vault's bucket (--bucket or BLOCKVAULT_BUCKET)");
  if (!options.table)
    throw new ValidationError("missing the vault's catalog table (--table or BLOCKVAULT_TABLE)");
}

/**
 * Creates a vault on AWS: the bucket (public access blocked, encrypted by default), the catalog
 * table and the KMS key, each only where it does not exist yet, then the vault itself. What a
 * user runs against LocalStack or a fresh account before the serverless stack exists.
 */
export async function initAwsVault(options: AwsVaultOptions, init: InitOptions): Promise<Vault> {
  checkNames(options);
  const aws = options.aws ?? {};
  const s3 = s3Client(aws);
  const dynamo = dynamoDocumentClient(aws);
  const kms = kmsClient(aws);
  let kmsKey = options.kmsKey;
  try {
    await ensureBucket(s3, options.bucket, aws.region);
    await createCatalogTable(dynamo, options.table).catch((err: unknown) => {
      if (!(err instanceof AlreadyExistsError)) throw err;
    });
    if (!kmsKey) {
      const alias = `alias/blockvault-${init.name}`;
      kmsKey =
        (await findKeyByAlias(kms, alias)) ??
        (await createVaultKey(kms, { alias, description: `blockvault vault ${init.name}` }));
    }
  } finally {
    s3.destroy();
    dynamo.destroy();
    kms.destroy();
  }
  const { deps: ports, close, bind } = deps(options, kmsKey);
  try {
    return bind(await Vault.init(ports, init, close));
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Opens a vault on AWS as the caller its credentials belong to (STS GetCallerIdentity): the
 * owner while the vault has no principals, else the principal its ARN (or, for an assumed-role
 * session, its role) names; a caller that is not one is an `AccessDeniedError`, and nothing stays
 * open.
 */
export async function openAwsVaultAsCaller(options: AwsVaultOptions): Promise<Vault> {
  const vault = await openAwsVault(options);
  let arn: string | undefined;
  try {
    arn = await callerArn(options.aws ?? {});
    return vault.as(await principalByArn(vault.ctx.deps.principals as PrincipalStore, arn));
  } catch (err) {
    // STS vouches for the name, so a denied caller is worth a line in the audit log.
    if (err instanceof AccessDeniedError && arn !== undefined) await auditDenied(vault, arn, err);
    await vault.close();
    throw err;
  }
}

async function auditDenied(vault: Vault, arn: string, err: Error): Promise<void> {
  await vault.ctx.deps.catalog
    .appendAudit({
      vaultId: vault.id,
      at: vault.ctx.deps.clock.now(),
      principal: arn,
      action: "vault.access",
      outcome: AuditOutcome.Refused,
      detail: { reason: err.message },
    })
    .catch(() => undefined);
}

/** Opens a vault on AWS, with a clear error when the bucket holds none. */
export async function openAwsVault(options: AwsVaultOptions): Promise<Vault> {
  checkNames(options);
  let kmsKey = options.kmsKey;
  if (!kmsKey) kmsKey = await keyOfConfig(options);
  const { deps: ports, close, bind } = deps(options, kmsKey);
  try {
    return bind(await Vault.open(ports, close));
  } catch (err) {
    await close();
    throw err instanceof NotFoundError ? noVault(options, err) : err;
  }
}

/** The error for a bucket (or prefix) that holds no vault. */
function noVault(options: AwsVaultOptions, cause: unknown): NotFoundError {
  const where = `s3://${options.bucket}/${options.prefix ?? ""}`;
  return new NotFoundError(`${where} holds no blockvault vault (run "blockvault init --backend aws" first)`, {
    cause,
  });
}

/** The KMS key named in the vault's config (which wrapped its dedup key). */
async function keyOfConfig(options: AwsVaultOptions): Promise<string> {
  const s3 = s3Client(options.aws ?? {});
  try {
    const store = new S3ObjectStore(s3, {
      bucket: options.bucket,
      ...(options.prefix ? { prefix: options.prefix } : {}),
    });
    const raw = await store.get("config").catch((err: unknown) => {
      throw err instanceof NotFoundError ? noVault(options, err) : err;
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

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EBSClient } from "@aws-sdk/client-ebs";
import { KMSClient } from "@aws-sdk/client-kms";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** Credentials as the SDK takes them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/**
 * How to reach AWS (or an emulator that speaks its APIs). Every field is optional: the SDK's own
 * defaults (environment, shared config, instance metadata) fill in what is not given.
 */
export interface AwsConfig {
  /** Region of every client, `us-east-1` when neither this nor `AWS_REGION` says otherwise. */
  readonly region?: string;
  /** One endpoint for all services (moto, LocalStack), as `AWS_ENDPOINT_URL` would give. */
  readonly endpoint?: string;
  /**
   * Static credentials, or a provider of them (an assumed role's, refreshed as they expire);
   * absent, the SDK's default provider chain is used.
   */
  readonly credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
  /**
   * Attempts per request inside the SDK; {@link SDK_STANDARD_ATTEMPTS} unless given. The clients
   * of the vault's ports get {@link DECORATED_CLIENT_ATTEMPTS} (see {@link decoratedClientConfig}).
   */
  readonly maxAttempts?: number;
  /**
   * Applied to every client built here before it is used, e.g. to trace its calls (the Lambda
   * functions pass X-Ray's); it returns the client it was given, instrumented.
   */
  readonly instrument?: <C extends object>(client: C) => C;
}

/** `client` with `config.instrument` applied, when there is one. */
function instrumented<C extends object>(config: AwsConfig, client: C): C {
  return config.instrument ? config.instrument(client) : client;
}

/**
 * SDK attempts of the clients behind the vault's ports (object store, catalog, keys,
 * references): the retry decorators above those ports are their one retry layer for throttling
 * and transient service errors (docs/design.md "Retry layers"), so the SDK tries once.
 */
export const DECORATED_CLIENT_ATTEMPTS = 1;

/**
 * SDK attempts of every other client (sources, restore targets, the archive, the queue, alerts,
 * workflows): nothing above them retries a single call, so the SDK's standard retry mode (three
 * attempts, exponential backoff with jitter) is their one layer.
 */
export const SDK_STANDARD_ATTEMPTS = 3;

/** `config` for the clients of ports that a retry decorator wraps: one SDK attempt. */
export function decoratedClientConfig(config: AwsConfig): AwsConfig {
  return { ...config, maxAttempts: DECORATED_CLIENT_ATTEMPTS };
}

/**
 * The endpoint of one service: `AWS_ENDPOINT_URL_<SERVICE>` when set (the SDKs' own per-service
 * variable, honoured here too because an explicit endpoint would override it), else the
 * configured one. It lets one emulator stand in for a service another lacks: LocalStack's S3,
 * KMS, SQS, SNS and Step Functions with the catalog on moto (`AWS_ENDPOINT_URL_DYNAMODB`).
 */
export function endpointFor(config: AwsConfig, service: string): string | undefined {
  return process.env[`AWS_ENDPOINT_URL_${service}`] || config.endpoint;
}

function base(config: AwsConfig, service: string) {
  const endpoint = endpointFor(config, service);
  return {
    region: config.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
    maxAttempts: config.maxAttempts ?? SDK_STANDARD_ATTEMPTS,
    ...(endpoint ? { endpoint } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
  };
}

/** An S3 client; path-style addressing whenever an explicit endpoint is used (emulators). */
export function s3Client(config: AwsConfig): S3Client {
  return instrumented(
    config,
    new S3Client({ ...base(config, "S3"), forcePathStyle: Boolean(endpointFor(config, "S3")) }),
  );
}

/** A DynamoDB document client that drops `undefined` attributes instead of failing on them. */
export function dynamoDocumentClient(config: AwsConfig): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(instrumented(config, new DynamoDBClient(base(config, "DYNAMODB"))), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** A KMS client. */
export function kmsClient(config: AwsConfig): KMSClient {
  return instrumented(config, new KMSClient(base(config, "KMS")));
}

/** An EBS direct-APIs client. */
export function ebsClient(config: AwsConfig): EBSClient {
  return instrumented(config, new EBSClient(base(config, "EBS")));
}

/** An SQS client. */
export function sqsClient(config: AwsConfig): SQSClient {
  return instrumented(config, new SQSClient(base(config, "SQS")));
}

/** An SNS client. */
export function snsClient(config: AwsConfig): SNSClient {
  return instrumented(config, new SNSClient(base(config, "SNS")));
}

/** A Step Functions client. */
export function sfnClient(config: AwsConfig): SFNClient {
  return instrumented(config, new SFNClient(base(config, "SFN")));
}

/** A Lambda client (a function calling another: the writer's commit gate). */
export function lambdaClient(config: AwsConfig): LambdaClient {
  return instrumented(config, new LambdaClient(base(config, "LAMBDA")));
}

/** An STS client (who is calling: GetCallerIdentity). */
export function stsClient(config: AwsConfig): STSClient {
  return instrumented(config, new STSClient(base(config, "STS")));
}

/**
 * For `.catch` on a call that opens something with `client`: destroys the client (nothing will
 * own it now) and rethrows.
 */
export function destroyOnError(client: { destroy(): void }): (err: unknown) => never {
  return (err) => {
    client.destroy();
    throw err;
  };
}

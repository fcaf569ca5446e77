import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { CfnTemplate } from "./cfn-probe.ts";

/** The resource types of the stack LocalStack's free runtime really creates. */
export const CREATED = [
  "AWS::CloudWatch::Alarm",
  "AWS::Events::Rule",
  "AWS::IAM::Role",
  "AWS::KMS::Alias",
  "AWS::KMS::Key",
  "AWS::Logs::LogGroup",
  "AWS::S3::Bucket",
  "AWS::S3::BucketPolicy",
  "AWS::SNS::Topic",
  "AWS::SQS::Queue",
  "AWS::StepFunctions::StateMachine",
] as const;

/** Those it reports created without creating anything (no resource provider in its free runtime). */
export const FALLBACKS = [
  "AWS::ApiGatewayV2::Api",
  "AWS::ApiGatewayV2::Integration",
  "AWS::ApiGatewayV2::Route",
  "AWS::ApiGatewayV2::Stage",
  "AWS::IAM::RolePolicy",
] as const;

/** The function and what hangs on it: none of these can be created without Lambda. */
export const LAMBDA = [
  "AWS::Lambda::Function",
  "AWS::Lambda::Version",
  "AWS::Lambda::Permission",
  "AWS::Lambda::EventSourceMapping",
] as const;

/** What `serverless deploy` uploaded: its bucket, the compiled template and every key. */
export interface DeployedArtifacts {
  readonly bucket: string;
  readonly template: CfnTemplate;
  readonly keys: readonly string[];
}

/** The deploy's own compiled template and bundles, from serverless's deployment bucket. */
export async function deployedArtifacts(s3: S3Client, stage: string): Promise<DeployedArtifacts> {
  const { Buckets } = await s3.send(new ListBucketsCommand({}));
  const prefix = `blockvault-${stage}-serverlessdeploy`;
  const bucket = Buckets?.map((b) => b.Name ?? "").find((n) => n.startsWith(prefix));
  if (!bucket) throw new Error(`no bucket named ${prefix}* on LocalStack: did serverless deploy run?`);
  const { Contents } = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  const keys = (Contents ?? []).map((o) => o.Key ?? "");
  const key = keys.find((k) => k.endsWith("/compiled-cloudformation-template.json"));
  const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { bucket, template: JSON.parse(await body.Body!.transformToString()), keys };
}

/** Moves the artifacts into a new bucket `to` (so the deploy's stack can be deleted, bucket and all). */
export async function moveArtifacts(s3: S3Client, artifacts: DeployedArtifacts, to: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: to }));
  for (const key of artifacts.keys) {
    const body = await s3.send(new GetObjectCommand({ Bucket: artifacts.bucket, Key: key }));
    const bytes = await body.Body!.transformToByteArray();
    await s3.send(new PutObjectCommand({ Bucket: to, Key: key, Body: bytes }));
    await s3.send(new DeleteObjectCommand({ Bucket: artifacts.bucket, Key: key }));
  }
}

/** Stores a template in `bucket` under `key`; the URL CloudFormation reads it from. */
export async function uploadTemplate(
  s3: S3Client,
  endpoint: string,
  bucket: string,
  key: string,
  template: unknown,
): Promise<string> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(template) }));
  return `${endpoint}/${bucket}/${key}`;
}

/** The lifecycle function alone, as the stack defines it, with a bare role and its bundle in `bucket`. */
export function lambdaOnlyTemplate(artifacts: DeployedArtifacts, bucket: string): unknown {
  const { LifecycleLambdaFunction: fn, LifecycleRole: role } = artifacts.template.Resources;
  const code = artifacts.keys.find((k) => k.endsWith("/lifecycle.zip"));
  return {
    Resources: {
      LifecycleRole: {
        Type: "AWS::IAM::Role",
        Properties: {
          ...(role?.Properties as object),
          RoleName: "blockvault-local-lambda-probe",
          Policies: [],
        },
      },
      LifecycleLambdaFunction: {
        Type: "AWS::Lambda::Function",
        Properties: {
          ...(fn?.Properties as object),
          Code: { S3Bucket: bucket, S3Key: code },
          Environment: {},
          FunctionName: "blockvault-local-lambda-probe",
          Role: { "Fn::GetAtt": ["LifecycleRole", "Arn"] },
        },
      },
    },
  };
}

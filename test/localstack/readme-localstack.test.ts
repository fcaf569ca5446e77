import { rmSync } from "node:fs";
import path from "node:path";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { ListStateMachinesCommand, SFNClient } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../emulator/moto.ts";
import { REPO, withServerlessTree } from "../infra/package-fixture.ts";
import {
  type CfnTemplate,
  createStack,
  deleteStack,
  resourceOutcomes,
  stackStatus,
  withoutResources,
} from "./cfn-probe.ts";
import { ensureLocalStackInstalled, python313 } from "./localstack.ts";
import { runWalkthrough, type Walkthrough, walkthroughScript } from "./readme-walkthrough.ts";

const DEMO = path.join(REPO, ".localstack-demo");
const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
const FALLBACK = /is not supported but was deployed as a fallback/;

let walkthrough: Walkthrough | undefined;
let result: { code: number | null; output: string };
let endpoint: string;
let cfn: CloudFormationClient;
let s3: S3Client;

beforeAll(async () => {
  await ensureLocalStackInstalled();
  const ports = { localstack: await freePort(), moto: await freePort(), serve: await freePort() };
  endpoint = `http://127.0.0.1:${ports.localstack}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // The README's reader has python3.13 on PATH; here it may be one of pyenv's.
    PATH: `${path.dirname(python313())}:${process.env.PATH}`,
    SLS_TELEMETRY_DISABLED: "1",
    SLS_NOTIFICATIONS_MODE: "off",
  };
  for (const name of [
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "BLOCKVAULT_HOME",
    "BLOCKVAULT_BACKEND",
  ])
    delete env[name];
  rmSync(DEMO, { recursive: true, force: true });
  result = await withServerlessTree(async () => {
    walkthrough = runWalkthrough(walkthroughScript(ports), env, 480_000);
    return walkthrough.done;
  });
  cfn = new CloudFormationClient({ endpoint, region: "us-east-1", credentials: CREDENTIALS });
  s3 = new S3Client({ endpoint, region: "us-east-1", credentials: CREDENTIALS, forcePathStyle: true });
}, 1_500_000);

afterAll(async () => {
  await walkthrough?.stop();
  cfn?.destroy();
  s3?.destroy();
  rmSync(DEMO, { recursive: true, force: true });
});

/** The deploy's own compiled template and the lifecycle function's bundle, from its deployment bucket. */
async function deployedArtifacts(): Promise<{ bucket: string; template: CfnTemplate; keys: string[] }> {
  const { Buckets } = await s3.send(new ListBucketsCommand({}));
  const bucket = Buckets?.map((b) => b.Name ?? "").find((n) =>
    n.startsWith("blockvault-local-serverlessdeploy"),
  );
  expect(bucket, "serverless's deployment bucket on LocalStack").toBeDefined();
  const { Contents } = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  const keys = (Contents ?? []).map((o) => o.Key ?? "");
  const key = keys.find((k) => k.endsWith("/compiled-cloudformation-template.json"));
  const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { bucket: bucket ?? "", template: JSON.parse(await body.Body!.transformToString()), keys };
}

describe("the README's LocalStack section, run command by command", () => {
  it("runs every command in order; the restore over the HTTP API is byte-identical", () => {
    expect(result.code, result.output.slice(-6000)).toBe(0);
    expect(result.output).toContain("/restores/{id}");
    expect(result.output).toContain("restored byte-identically");
  });

  it("serverless deploy --stage local fails at CatalogTable (AWS::DynamoDB::Table) and rolls back", async () => {
    expect(result.output).toContain("CREATE_FAILED: CatalogTable (AWS::DynamoDB::Table)");
    expect(await stackStatus(cfn, "blockvault-local")).toBe("UPDATE_ROLLBACK_COMPLETE");
    const outcomes = await resourceOutcomes(cfn, "blockvault-local");
    expect(outcomes.get("CatalogTable")?.status).toBe("CREATE_FAILED");
    expect(outcomes.get("CatalogTable")?.reason).toMatch(/Service 'dynamodb' is not enabled/);
    const created = [...outcomes]
      .filter(([, o]) => o.status === "CREATE_COMPLETE")
      .map(([id, o]) => `${id} (${o.type})`);
    console.info(`created before the rollback: ${created.join(", ")}`);
    expect(created).toContain("ServerlessDeploymentBucket (AWS::S3::Bucket)");
  });
});

/** What LocalStack really creates of each resource type the stack has besides the table and the functions. */
const CREATED = [
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
];
/** What it reports created without creating anything (no resource provider in its free runtime). */
const FALLBACKS = [
  "AWS::ApiGatewayV2::Api",
  "AWS::ApiGatewayV2::Integration",
  "AWS::ApiGatewayV2::Route",
  "AWS::ApiGatewayV2::Stage",
  "AWS::IAM::RolePolicy",
];
const LAMBDA = [
  "AWS::Lambda::Function",
  "AWS::Lambda::Version",
  "AWS::Lambda::Permission",
  "AWS::Lambda::EventSourceMapping",
];

describe("LocalStack's CloudFormation, resource by resource, on the deploy's own template", () => {
  let artifacts: Awaited<ReturnType<typeof deployedArtifacts>>;
  const probeBucket = "blockvault-local-probe";

  beforeAll(async () => {
    artifacts = await deployedArtifacts();
    // The failed deploy's stack still holds names (key aliases, roles) the probe reuses: delete it.
    await s3.send(new CreateBucketCommand({ Bucket: probeBucket }));
    for (const key of artifacts.keys) {
      const body = await s3.send(new GetObjectCommand({ Bucket: artifacts.bucket, Key: key }));
      const bytes = await body.Body!.transformToByteArray();
      await s3.send(new PutObjectCommand({ Bucket: probeBucket, Key: key, Body: bytes }));
      await s3.send(new DeleteObjectCommand({ Bucket: artifacts.bucket, Key: key }));
    }
    await deleteStack(cfn, "blockvault-local");
  }, 300_000);

  it("creates every resource but the table and the functions, some only in name (ApiGatewayV2, IAM::RolePolicy)", async () => {
    const types = new Set(Object.values(artifacts.template.Resources).map((r) => r.Type));
    expect([...types].sort()).toEqual([...CREATED, ...FALLBACKS, ...LAMBDA, "AWS::DynamoDB::Table"].sort());
    const probe = withoutResources(artifacts.template, ["AWS::DynamoDB::Table", ...LAMBDA]);
    await s3.send(
      new PutObjectCommand({ Bucket: probeBucket, Key: "probe.json", Body: JSON.stringify(probe) }),
    );
    const status = await createStack(cfn, "blockvault-local-probe", `${endpoint}/${probeBucket}/probe.json`);
    const outcomes = [...(await resourceOutcomes(cfn, "blockvault-local-probe")).values()];
    expect(status, JSON.stringify(outcomes.filter((o) => o.status !== "CREATE_COMPLETE"))).toBe(
      "CREATE_COMPLETE",
    );
    expect(outcomes.length).toBe(Object.keys(probe.Resources).length);
    const fallbacks = new Set(outcomes.filter((o) => FALLBACK.test(o.reason)).map((o) => o.type));
    const created = new Set(outcomes.filter((o) => !FALLBACK.test(o.reason)).map((o) => o.type));
    expect([...fallbacks].sort()).toEqual(FALLBACKS);
    expect([...created].sort()).toEqual(CREATED);
  });

  it("has the four state machines in its Step Functions and no HTTP API (API Gateway v2 answers 501)", async () => {
    const sfn = new SFNClient({ endpoint, region: "us-east-1", credentials: CREDENTIALS });
    const { stateMachines } = await sfn.send(new ListStateMachinesCommand({}));
    sfn.destroy();
    const names = (stateMachines ?? []).map((m) => m.name).sort();
    expect(names).toEqual(["copy", "expiry", "restore", "tiering"].map((m) => `blockvault-local-${m}`));
    const apis = await fetch(`${endpoint}/v2/apis`, {
      headers: {
        authorization: "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/apigateway/aws4_request",
      },
    });
    expect(apis.status).toBe(501);
  });

  it("cannot create a Lambda function offline: it first downloads its Lambda runtime (and invoking needs Docker)", async () => {
    const lifecycle = artifacts.template.Resources.LifecycleLambdaFunction;
    const role = artifacts.template.Resources.LifecycleRole;
    const code = artifacts.keys.find((k) => k.endsWith("/lifecycle.zip"));
    const properties = {
      ...(lifecycle?.Properties as object),
      Code: { S3Bucket: probeBucket, S3Key: code },
      Environment: {},
    };
    const template = {
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
            ...properties,
            FunctionName: "blockvault-local-lambda-probe",
            Role: { "Fn::GetAtt": ["LifecycleRole", "Arn"] },
          },
        },
      },
    };
    await s3.send(
      new PutObjectCommand({ Bucket: probeBucket, Key: "lambda.json", Body: JSON.stringify(template) }),
    );
    const status = await createStack(
      cfn,
      "blockvault-local-lambda-probe",
      `${endpoint}/${probeBucket}/lambda.json`,
    );
    const outcome = (await resourceOutcomes(cfn, "blockvault-local-lambda-probe")).get(
      "LifecycleLambdaFunction",
    );
    expect(status).toBe("CREATE_FAILED");
    expect(outcome?.status).toBe("CREATE_FAILED");
    expect(outcome?.reason).toMatch(/Installation of lambda-runtime .* failed/);
  });
});

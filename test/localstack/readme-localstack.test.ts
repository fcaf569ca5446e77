import { rmSync } from "node:fs";
import path from "node:path";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { S3Client } from "@aws-sdk/client-s3";
import { ListStateMachinesCommand, SFNClient } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../emulator/moto.ts";
import { REPO, withServerlessTree } from "../infra/package-fixture.ts";
import { createStack, deleteStack, resourceOutcomes, stackStatus, withoutResources } from "./cfn-probe.ts";
import {
  CREATED,
  type DeployedArtifacts,
  deployedArtifacts,
  FALLBACKS,
  LAMBDA,
  lambdaOnlyTemplate,
  moveArtifacts,
  uploadTemplate,
} from "./deploy-artifacts.ts";
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

describe("LocalStack's CloudFormation, resource by resource, on the deploy's own template", () => {
  let artifacts: DeployedArtifacts;
  const probeBucket = "blockvault-local-probe";

  beforeAll(async () => {
    artifacts = await deployedArtifacts(s3, "local");
    // The failed deploy's stack still holds names (key aliases, roles) the probe reuses: delete it.
    await moveArtifacts(s3, artifacts, probeBucket);
    await deleteStack(cfn, "blockvault-local");
  }, 300_000);

  it("creates every resource but the table and the functions, some only in name (ApiGatewayV2, IAM::RolePolicy)", async () => {
    const types = new Set(Object.values(artifacts.template.Resources).map((r) => r.Type));
    expect([...types].sort()).toEqual([...CREATED, ...FALLBACKS, ...LAMBDA, "AWS::DynamoDB::Table"].sort());
    const probe = withoutResources(artifacts.template, ["AWS::DynamoDB::Table", ...LAMBDA]);
    const url = await uploadTemplate(s3, endpoint, probeBucket, "probe.json", probe);
    const status = await createStack(cfn, "blockvault-local-probe", url);
    const outcomes = [...(await resourceOutcomes(cfn, "blockvault-local-probe")).values()];
    const failed = outcomes.filter((o) => o.status !== "CREATE_COMPLETE");
    expect(status, JSON.stringify(failed)).toBe("CREATE_COMPLETE");
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
    const signed = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/apigateway/aws4_request";
    const apis = await fetch(`${endpoint}/v2/apis`, { headers: { authorization: signed } });
    expect(apis.status).toBe(501);
  });

  it("cannot create a Lambda function offline: it first downloads its Lambda runtime (and invoking needs Docker)", async () => {
    const template = lambdaOnlyTemplate(artifacts, probeBucket);
    const url = await uploadTemplate(s3, endpoint, probeBucket, "lambda.json", template);
    const status = await createStack(cfn, "blockvault-local-lambda-probe", url);
    const outcomes = await resourceOutcomes(cfn, "blockvault-local-lambda-probe");
    expect(status).toBe("CREATE_FAILED");
    expect(outcomes.get("LifecycleLambdaFunction")?.status).toBe("CREATE_FAILED");
    expect(outcomes.get("LifecycleLambdaFunction")?.reason).toMatch(
      /Installation of lambda-runtime .* failed/,
    );
  });
});

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type AwsConfig, s3Client } from "../../lib/adapters/aws/clients.ts";
import { S3ObjectStore } from "../../lib/adapters/aws/s3-object-store.ts";
import type { LambdaTaskRecord } from "../../lib/app/local-workflows.ts";
import { initAwsVault } from "../../lib/compose/aws.ts";
import { type EmbeddedRuntime, startEmbeddedRuntime } from "../../lib/compose/embedded.ts";
import { OWNER } from "../../lib/rules/roles.ts";
import type { Vault } from "../../lib/vault.ts";
import { uniqueName } from "../helpers/aws.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile } from "../helpers/vault-ops.ts";
import { type RunningLocalStack, startLocalStack } from "./localstack.ts";
import {
  alertInbox,
  byExecution,
  createMachine,
  mockConfig,
  recordedResponses,
  runTestCase,
} from "./sfn-replay.ts";

const RESTORE_ASL = fileURLToPath(new URL("../../infra/statemachines/restore.asl.json", import.meta.url));
const MACHINE = "blockvault-local-restore";
const LIFECYCLE = "arn:aws:lambda:us-east-1:000000000000:function:blockvault-local-lifecycle";
const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

let localstack: RunningLocalStack;
let root: string;
let mockFile: string;
let vault: Vault;
let runtime: EmbeddedRuntime;
let bucket: string;
const tasks: LambdaTaskRecord[] = [];
let sfn: SFNClient;
let sns: SNSClient;
let sqs: SQSClient;
let recorded: ReturnType<typeof recordedResponses> = {};
let input: unknown;
let arn = "";
let alertQueueUrl = "";
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  root = await tempDir("localstack-sfn");
  mockFile = join(root, "sfn-mock-config.json");
  localstack = await startLocalStack({ env: { SFN_MOCK_CONFIG: mockFile } });
  // As the README's reader: LocalStack for every service but the catalog, which is on moto.
  for (const name of ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"]) saved[name] = process.env[name];
  process.env.AWS_ENDPOINT_URL = localstack.endpoint;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = inject("awsEndpoint");
  const aws: AwsConfig = { region: "us-east-1", credentials: CREDENTIALS };
  bucket = uniqueName("ls-sfn");
  vault = await initAwsVault({ bucket, table: uniqueName("ls-sfn"), aws }, { name: "sfn", blockSize: 4096 });
  runtime = await startEmbeddedRuntime({
    vault,
    archive: new S3ObjectStore(s3Client(aws), { bucket }),
    principals: async () => OWNER,
    port: 0,
    tickMs: 0,
    waitMs: 0,
    retryIntervalMs: 0,
    aws,
    onTask: (task) => tasks.push(task),
  });
  const clients = { endpoint: localstack.endpoint, region: "us-east-1", credentials: CREDENTIALS };
  sfn = new SFNClient(clients);
  sns = new SNSClient(clients);
  sqs = new SQSClient(clients);
}, 1_200_000);

afterAll(async () => {
  for (const client of [sfn, sns, sqs]) client?.destroy();
  await runtime?.stop();
  await vault?.close();
  await localstack?.stop();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  if (root) await removeDir(root);
});

/** A restore over the embedded runtime's HTTP API, into S3 on LocalStack; the restored bytes. */
async function restoreOverHttp(point: string): Promise<{ job: { status: string }; bytes: Buffer }> {
  const url = `s3://${bucket}/restores/web.img`;
  const headers = { authorization: "Bearer owner", "content-type": "application/json" };
  const started = await fetch(`${runtime.url}/restores`, {
    method: "POST",
    headers,
    body: JSON.stringify({ recoveryPointId: point, target: { kind: "s3", url } }),
  });
  expect(started.status, await started.clone().text()).toBe(202);
  const { jobId } = (await started.json()) as { jobId: string };
  await runtime.settle();
  const job = (await (await fetch(`${runtime.url}/restores/${jobId}`, { headers })).json()) as {
    status: string;
  };
  const object = await s3Client({ region: "us-east-1", credentials: CREDENTIALS }).send(
    new GetObjectCommand({ Bucket: bucket, Key: "restores/web.img" }),
  );
  return { job, bytes: Buffer.from(await object.Body!.transformToByteArray()) };
}

describe("the restore state machine on LocalStack's Step Functions", () => {
  it("replays the embedded runtime's restore with its recorded task results: the same task inputs, in order, and the same output", async () => {
    const image = join(root, "web.img");
    const bytes = seededBytes(31, 300_000);
    await writeFile(image, bytes);
    const point = (await backupFile(vault, image, "web")).recoveryPointId;
    const restored = await restoreOverHttp(point);
    expect(restored.job.status).toBe("completed");
    expect(restored.bytes.equals(bytes)).toBe(true);
    const [first] = tasks;
    const execution = tasks.filter((t) => t.executionId === first?.executionId);
    expect(execution.map((t) => t.state)).toEqual(["PlanRestore", "Assemble", "CompleteJob"]);
    const embedded = runtime.workflows.describe(first?.executionId ?? "");

    recorded = recordedResponses(execution);
    input = (execution[0]?.payload as { input?: unknown } | undefined)?.input;
    // The failure case's alert goes to a real SNS topic on LocalStack, read back from a queue.
    const inbox = await alertInbox(sns, sqs, "blockvault-local-alerts");
    alertQueueUrl = inbox.queueUrl;
    // Both cases in one file, written once: LocalStack rereads it only when its modification
    // time (in whole seconds) changes.
    const assembleFails = {
      PlanRestore: recorded.PlanRestore ?? [],
      Assemble: [{ Throw: { Error: "IntegrityError", Cause: "block 7 failed verification" } }],
      FailJob: [
        { Throw: { Error: "Lambda.ResourceNotFoundException", Cause: "the lifecycle function did not run" } },
      ],
    };
    const cases = { Recorded: recorded, AssembleFails: assembleFails };
    await writeFile(mockFile, JSON.stringify(mockConfig({ [MACHINE]: cases })));
    arn = await createMachine(sfn, MACHINE, await readFile(RESTORE_ASL, "utf8"), {
      LifecycleFunctionArn: LIFECYCLE,
      AlertTopicArn: inbox.topicArn,
    });
    const replayed = await runTestCase(sfn, arn, "Recorded", input);
    expect(replayed.described.status, replayed.described.cause).toBe("SUCCEEDED");
    expect(replayed.lambdaPayloads).toEqual(execution.map((t) => t.payload));
    expect(JSON.parse(replayed.described.output ?? "null")).toEqual(embedded.output);
  });

  it("runs the failure path for real: a failed assembly and a failed fail-job end the execution failed, with the alert published to SNS", async () => {
    expect(arn, "the replay above creates the machine").not.toBe("");
    const replayed = await runTestCase(sfn, arn, "AssembleFails", input);
    expect(replayed.described.status).toBe("FAILED");
    expect(replayed.described.error).toBe("IntegrityError");
    expect(replayed.described.cause).toBe("block 7 failed verification");
    const states = replayed.history
      .filter((e) => e.type?.endsWith("StateEntered"))
      .map((e) => e.stateEnteredEventDetails?.name);
    expect(states).toEqual([
      "PlanRestore",
      "NeedsRehydration",
      "Assemble",
      "FailJob",
      "DescribeFailure",
      "Alert",
      "Failed",
    ]);
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: alertQueueUrl, WaitTimeSeconds: 10 }),
    );
    expect(Messages?.length).toBe(1);
    const alert = JSON.parse(Messages?.[0]?.Body ?? "{}") as { subject?: string; message?: string };
    expect(alert.subject).toBe("blockvault restore failed");
    expect(alert.message).toContain("block 7 failed verification");
    expect(alert.message).toContain("the lifecycle function did not run");
  });
});

describe("the day's tiering and expiry runs on LocalStack's Step Functions", () => {
  it("replays each with the embedded runtime's recorded task results: the same task inputs (its own execution id aside) and output", async () => {
    const before = new Set(tasks.map((t) => t.executionId));
    await runtime.tick();
    await runtime.settle();
    const runs = byExecution(tasks.filter((t) => !before.has(t.executionId)));
    const executionOf = (machine: string) =>
      [...runs.keys()].find((id) => id.includes(`:blockvault-${machine}:`)) ?? "";
    const machines = { tiering: executionOf("tiering"), expiry: executionOf("expiry") };
    const config: Record<string, Record<string, ReturnType<typeof recordedResponses>>> = {};
    for (const [machine, id] of Object.entries(machines)) {
      expect(id, `the tick's ${machine} run`).not.toBe("");
      config[`blockvault-local-${machine}`] = { Recorded: recordedResponses(runs.get(id) ?? []) };
    }
    // A later modification time than the restore cases' file (LocalStack compares whole seconds).
    await new Promise((r) => setTimeout(r, 1100));
    await writeFile(mockFile, JSON.stringify(mockConfig(config)));
    for (const [machine, id] of Object.entries(machines)) {
      const asl = await readFile(RESTORE_ASL.replace("restore.asl.json", `${machine}.asl.json`), "utf8");
      const machineArn = await createMachine(sfn, `blockvault-local-${machine}`, asl, {
        LifecycleFunctionArn: LIFECYCLE,
        AlertTopicArn: "arn:aws:sns:us-east-1:000000000000:blockvault-local-alerts",
      });
      const replayed = await runTestCase(sfn, machineArn, "Recorded", {});
      expect(replayed.described.status, `${machine}: ${replayed.described.cause}`).toBe("SUCCEEDED");
      // The one input that differs: `$$.Execution.Id`, each runtime's own execution.
      const ownId = (text: string) => JSON.parse(text.replaceAll(id, "EXECUTION"));
      const lambdaPayloads = ownId(
        JSON.stringify(replayed.lambdaPayloads).replaceAll(
          replayed.described.executionArn ?? "",
          "EXECUTION",
        ),
      );
      const recorded = (runs.get(id) ?? []).map((t) => t.payload);
      expect(recorded.length, machine).toBeGreaterThanOrEqual(3);
      expect(lambdaPayloads, machine).toEqual(ownId(JSON.stringify(recorded)));
      const embedded = runtime.workflows.describe(id).output;
      const output = (replayed.described.output ?? "null").replaceAll(
        replayed.described.executionArn ?? "",
        "EXECUTION",
      );
      expect(ownId(output), machine).toEqual(ownId(JSON.stringify(embedded)));
    }
  });
});

import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateKeyCommand, DisableKeyCommand } from "@aws-sdk/client-kms";
import { CreateStateMachineCommand, DescribeStateMachineCommand, SFNClient } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { kmsClient } from "../../lib/adapters/aws/clients.ts";
import { KmsKeyService } from "../../lib/adapters/aws/kms-key-service.ts";
import { KeyError } from "../../lib/errors.ts";
import { Machine } from "../../lib/ports/workflows.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { type RunningLocalStack, startLocalStack } from "./localstack.ts";

const BIN = fileURLToPath(new URL("../../bin/blockvault.mjs", import.meta.url));
const MACHINES = fileURLToPath(new URL("../../infra/statemachines/", import.meta.url));
const CREDENTIALS = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_REGION: "us-east-1" };

let localstack: RunningLocalStack;
let root: string;

beforeAll(async () => {
  localstack = await startLocalStack();
  root = await tempDir("localstack");
}, 1_200_000);
afterAll(async () => {
  await localstack?.stop();
  if (root) await removeDir(root);
});

/**
 * Runs the CLI on the AWS backend the way the README's LocalStack section does: LocalStack for S3
 * and KMS (AWS_ENDPOINT_URL), the catalog on moto (AWS_ENDPOINT_URL_DYNAMODB), since LocalStack's
 * DynamoDB needs DynamoDB Local, which cannot be installed here.
 */
function cli(
  vault: { bucket: string; table: string },
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const env = {
    ...process.env,
    ...CREDENTIALS,
    AWS_ENDPOINT_URL: localstack.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: inject("awsEndpoint"),
    BLOCKVAULT_BACKEND: "aws",
    BLOCKVAULT_BUCKET: vault.bucket,
    BLOCKVAULT_TABLE: vault.table,
    BLOCKVAULT_WORKERS: "1",
  };
  const child = spawn(process.execPath, [BIN, ...args], { cwd: root, env });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, out, err })));
}

describe("the CLI on LocalStack (S3, KMS) with the catalog on moto", () => {
  it("lists the services the tier relies on as available", () => {
    for (const service of ["s3", "kms", "sqs", "sns", "stepfunctions"])
      expect(["available", "running"], service).toContain(localstack.services[service]);
  });

  it("creates a vault, backs up full and incremental, lists, restores byte-identically and checks", async () => {
    const vault = { bucket: `bv-ls-${Date.now()}`, table: `bv-ls-${Date.now()}` };
    const init = await cli(vault, "init", "--name", "on-localstack");
    expect(init.code, init.err).toBe(0);
    const image = join(root, "disk.img");
    const first = seededBytes(21, 3 * 1024 * 1024);
    await writeFile(image, first);
    const full = await cli(vault, "backup", image, "--disk", "web", "--json");
    expect(full.code, full.err).toBe(0);
    const second = Buffer.from(first);
    seededBytes(22, 40_000).copy(second, 1_000_000);
    await writeFile(image, second);
    const incremental = await cli(vault, "backup", image, "--disk", "web", "--json");
    expect(incremental.code, incremental.err).toBe(0);
    const [a, b] = [JSON.parse(full.out), JSON.parse(incremental.out)];
    expect(b.parent).toBe(a.recoveryPointId);
    expect(b.bytesStored).toBeLessThan(a.bytesStored / 4);
    const listed = JSON.parse((await cli(vault, "list", "--json")).out) as { id: string }[];
    expect(listed.map((p) => p.id).sort()).toEqual([a.recoveryPointId, b.recoveryPointId].sort());
    for (const [point, bytes] of [
      [a.recoveryPointId, first],
      [b.recoveryPointId, second],
    ] as const) {
      const out = join(root, `${point}.img`);
      const restored = await cli(vault, "restore", point, "--to", out);
      expect(restored.code, restored.err).toBe(0);
      expect((await readFile(out)).equals(bytes)).toBe(true);
    }
    const check = await cli(vault, "check", "--read-data", "--json");
    expect(check.code, check.err).toBe(0);
    expect(JSON.parse(check.out).ok).toBe(true);
  });

  it("accepts the state machines' definitions into its Step Functions, as deployed", async () => {
    const sfn = new SFNClient({
      endpoint: localstack.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const lambda = "arn:aws:lambda:us-east-1:000000000000:function:blockvault-local-lifecycle";
    const topic = "arn:aws:sns:us-east-1:000000000000:blockvault-local-alerts";
    for (const name of Object.values(Machine)) {
      const asl = (await readFile(join(MACHINES, `${name}.asl.json`), "utf8"))
        .replace(/\$\{LifecycleFunctionArn\}/g, lambda)
        .replace(/\$\{AlertTopicArn\}/g, topic);
      const created = await sfn.send(
        new CreateStateMachineCommand({
          name: `blockvault-local-${name}-${Date.now()}`,
          definition: asl,
          roleArn: "arn:aws:iam::000000000000:role/blockvault-local-machines",
        }),
      );
      const described = await sfn.send(
        new DescribeStateMachineCommand({ stateMachineArn: created.stateMachineArn }),
      );
      expect(JSON.parse(described.definition ?? "{}").StartAt, name).toBe(JSON.parse(asl).StartAt);
    }
    sfn.destroy();
  });
});

describe("where LocalStack and moto differ (findings)", () => {
  /** A KMS key on `endpoint`, disabled; the key service over it. */
  async function disabledKey(endpoint: string): Promise<KmsKeyService> {
    const kms = kmsClient({
      endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({ Description: "blockvault disabled-key finding" }),
    );
    await kms.send(new DisableKeyCommand({ KeyId: KeyMetadata?.KeyId }));
    return new KmsKeyService(kms, KeyMetadata?.KeyId ?? "");
  }
  const context = { vault: "finding", purpose: "pack-data" } as const;

  it("LocalStack refuses a disabled KMS key (a non-retryable KeyError naming it); moto hands out data keys under it", async () => {
    const onLocalStack = await disabledKey(localstack.endpoint);
    const refused = await onLocalStack.generateDataKey(context).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KeyError);
    expect((refused as KeyError).retryable).toBe(false);
    expect((refused as Error).message).toContain(onLocalStack.keyId);
    const onMoto = await disabledKey(inject("awsEndpoint"));
    const handedOut = await onMoto.generateDataKey(context);
    expect(handedOut.plaintext.length).toBe(32);
  });
});

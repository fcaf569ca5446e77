import { spawnSync } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { mkdir, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { initAwsVault } from "../../lib/compose/aws.ts";
import { JobStatus } from "../../lib/model.ts";
import { planScheduledBackups } from "../../lib/rules/schedule.ts";
import type { Vault } from "../../lib/vault.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { restoreBytes } from "../helpers/vault-ops.ts";
import { packagedStages } from "./package-fixture.ts";

let dir: string;
let vault: Vault;
let env: Record<string, string>;
/** Stands in for the X-Ray daemon: the segments the bundle's tracer sends, as it would in Lambda. */
let xrayDaemon: Socket;
const segments: Record<string, unknown>[] = [];
const image = seededBytes(5, 3 * 1024 * 1024);

beforeAll(async () => {
  dir = await tempDir("bundle");
  xrayDaemon = createSocket("udp4").on("message", (packet) => {
    // The daemon protocol: a header line, then one segment document.
    const body = packet.toString("utf8").split("\n")[1];
    if (body) segments.push(JSON.parse(body) as Record<string, unknown>);
  });
  await new Promise<void>((resolve) => xrayDaemon.bind(0, "127.0.0.1", resolve));
  const config = emulatorConfig();
  const bucket = uniqueName("bundle");
  const table = uniqueName("bundle");
  vault = await initAwsVault({ bucket, table, aws: config }, { name: "bundle", blockSize: 4096 });
  env = {
    PATH: process.env.PATH ?? "",
    AWS_ENDPOINT_URL: config.endpoint!,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    BLOCKVAULT_BUCKET: bucket,
    BLOCKVAULT_TABLE: table,
    BLOCKVAULT_KMS_KEY: vault.ctx.config.dedupKey.masterKeyId,
    BLOCKVAULT_MAX_RECEIVES: "3",
    POWERTOOLS_METRICS_NAMESPACE: "blockvault",
    // What Lambda sets for an actively traced function: the bundled tracer runs as it would there.
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
    LAMBDA_TASK_ROOT: dir,
    _X_AMZN_TRACE_ID: "Root=1-67a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${(xrayDaemon.address() as AddressInfo).port}`,
  };
}, 300_000);

afterAll(async () => {
  xrayDaemon?.close();
  await vault?.close();
  await removeDir(dir);
});

/** Unzips a packaged function and invokes its handler with `event` in a fresh Node 24 process. */
async function invokePackaged(fn: string, event: unknown): Promise<{ status: number | null; out: string }> {
  const { dev } = await packagedStages();
  const unpacked = path.join(dir, fn);
  await mkdir(unpacked, { recursive: true });
  // Python's zipfile, not unzip: a fresh machine has Python 3 but not necessarily unzip.
  const unzip = spawnSync(
    process.env.PYTHON ?? "python3",
    ["-m", "zipfile", "-e", path.join(dev.dir, `${fn}.zip`), unpacked],
    {
      encoding: "utf8",
    },
  );
  expect(unzip.status, unzip.stderr).toBe(0);
  const script = `import(${JSON.stringify(path.join(unpacked, "functions", `${fn}.mjs`))})
    .then((m) => m.handler(${JSON.stringify(event)}, { awsRequestId: "test", functionName: "${fn}" }))
    .then((r) => { console.log(JSON.stringify(r)); })
    .catch((e) => { console.error(e); process.exit(1); });`;
  // A file, not --eval: worker threads inherit the process's flags, as they would not in Lambda.
  const runner = path.join(unpacked, "invoke.mjs");
  await writeFile(runner, script);
  const run = spawnSync(process.execPath, [runner], {
    env: { ...env, _HANDLER: `functions/${fn}.handler` },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

describe("the packaged snapshot function", () => {
  it("runs a whole backup from its bundle, worker threads included, against the emulator", async () => {
    const imagePath = path.join(dir, "disk.img");
    await writeFile(imagePath, image);
    await vault.createPolicy({
      name: "daily",
      schedule: { kind: "daily", times: ["00:00"] },
      timeZone: "UTC",
      retention: { daily: { days: 7 } },
      snapshotRetentionDays: 2,
    });
    const source = await openFileSource(imagePath);
    try {
      await vault.protect(source, "web", "daily");
    } finally {
      await source.close();
    }
    const [request] = await planScheduledBackups(vault.ctx, Date.now() + 24 * 60 * 60 * 1000);
    expect(request).toBeDefined();
    const event = {
      Records: [
        {
          messageId: "m1",
          body: JSON.stringify(request),
          attributes: { ApproximateReceiveCount: "1" },
        },
      ],
    };
    const run = await invokePackaged("snapshot", event);
    expect(run.status, run.out).toBe(0);
    expect(run.out).toContain('"batchItemFailures":[]');
    const job = await vault.ctx.deps.catalog.getJob(vault.id, request!.jobId);
    expect(job.status).toBe(JobStatus.Completed);
    const [point] = await vault.listPoints("web");
    expect(sha256(await restoreBytes(vault, point!.id, dir))).toBe(sha256(image));
    // Traced from the bundle: the handler, and the SDK calls of the vault's clients.
    await vi.waitFor(() => {
      expect(segments.map((s) => s.name)).toContain("## functions/snapshot.handler");
      expect(segments.filter((s) => s.namespace === "aws").map((s) => s.name)).toEqual(
        expect.arrayContaining(["S3", "DynamoDB", "KMS"]),
      );
    });
    // The EMF blob of the backup reached stdout.
    expect(run.out).toMatch(/"BackupsCompleted":1/);
  });
});

describe("the packaged API function", () => {
  it("serves the web console's files on the routes without IAM authorization, with the page's headers", async () => {
    const get = (rawPath: string) => ({
      version: "2.0",
      routeKey: "GET /console/{proxy+}",
      rawPath,
      rawQueryString: "",
      headers: {},
      isBase64Encoded: false,
      requestContext: { requestId: "r1", stage: "$default", http: { method: "GET", path: rawPath } },
    });
    const page = await invokePackaged("api", get("/console/"));
    expect(page.status, page.out).toBe(0);
    // The handler's answer is the line the runner prints; the function's own log lines come too.
    const answer = (out: string) => out.split("\n").find((line) => line.startsWith('{"statusCode"'))!;
    const response = JSON.parse(answer(page.out)) as {
      statusCode: number;
      headers: Record<string, string>;
      body: string;
    };
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-security-policy"]).toMatch(/script-src 'self'/);
    expect(response.body).toMatch(/<script type="module" src="app.js">/);
    // Nothing but the console's files: an API path under /console is not the API.
    const other = await invokePackaged("api", get("/console/jobs"));
    expect(JSON.parse(answer(other.out)).statusCode).toBe(404);
  });
});

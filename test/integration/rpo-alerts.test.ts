import { once } from "node:events";
import { rename, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { type EmbeddedRuntime, startEmbeddedRuntime } from "../../lib/compose/embedded.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import { JobType } from "../../lib/model.ts";
import type { Vault } from "../../lib/vault.ts";
import { runCli } from "../helpers/cli.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { family, parsePrometheus, sample } from "../helpers/prometheus-parser.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

/** A real HTTP listener standing in for a chat or incident webhook: it records what it is sent. */
async function startReceiver(): Promise<{ server: Server; url: string; received: unknown[] }> {
  const received: unknown[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    received.push({
      method: req.method,
      type: req.headers["content-type"],
      body: JSON.parse(Buffer.concat(chunks).toString()),
    });
    res.writeHead(204).end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

const HOUR = 3_600_000;

describe("the missed-RPO check of the scheduler tick", () => {
  let root: string;
  let vault: Vault;
  let runtime: EmbeddedRuntime;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let now = Date.parse("2026-05-01T00:30:00Z");
  const logged: string[] = [];
  let image: string;

  beforeAll(async () => {
    root = await tempDir("rpo");
    receiver = await startReceiver();
    vault = await initLocalVault(
      join(root, "vault"),
      { name: "rpo", blockSize: 4096 },
      { clock: { now: () => now } },
    );
    image = join(root, "web.img");
    await writeFile(image, seededBytes(9, 64 * 1024));
    await vault.createPolicy({
      name: "daily",
      schedule: { kind: "daily", times: ["01:00"] },
      timeZone: "UTC",
      retention: { daily: { days: 7 } },
      snapshotRetentionDays: 1,
      rpoGraceMinutes: 30,
    });
    const source = await openFileSource(image);
    await vault.protect(source, "web", "daily").finally(() => source.close());
    // The disk's source goes away: every scheduled backup of it fails from now on.
    await rename(image, `${image}.away`);
    runtime = await startEmbeddedRuntime({
      vault,
      principals: async () => vault.principal,
      port: 0,
      tickMs: 0,
      waitMs: 0,
      retryIntervalMs: 0,
      queueBackoffMs: () => 0,
      log: (line) => logged.push(line),
      alertWebhook: receiver.url,
    });
  });
  afterAll(async () => {
    await runtime.stop();
    await vault.close();
    receiver.server.close();
    await removeDir(root);
  });

  const rpoAlerts = () =>
    receiver.received.filter((r) =>
      String((r as { body: { subject: string } }).body.subject).includes("recovery point objective"),
    );

  it("does not count a slot whose grace has not passed", async () => {
    now = Date.parse("2026-05-01T01:20:00Z");
    const report = await runtime.tick();
    await runtime.settle();
    expect(report.rpo.missed).toEqual([]);
    expect(rpoAlerts()).toEqual([]);
  });

  it("alerts a miss once, to the log and the webhook, however many ticks see it", async () => {
    now = Date.parse("2026-05-01T01:31:00Z");
    const first = await runtime.tick();
    await runtime.settle();
    expect(first.rpo.missed.map((m) => m.disk)).toEqual(["web"]);
    expect(first.rpo.alerted.map((m) => m.requiredSince)).toEqual([Date.parse("2026-05-01T01:00:00Z")]);
    now += HOUR;
    const second = await runtime.tick();
    await runtime.settle();
    expect(second.rpo.missed.map((m) => m.disk)).toEqual(["web"]);
    expect(second.rpo.alerted).toEqual([]);
    expect(rpoAlerts()).toHaveLength(1);
    expect(rpoAlerts()[0]).toEqual({
      method: "POST",
      type: "application/json",
      body: {
        source: "blockvault",
        subject: "blockvault: disk web missed its recovery point objective",
        message:
          'disk web has no good recovery point since its slot of 2026-05-01T01:00:00.000Z (policy "daily", 30 minutes\' grace); the latest is none',
        jobId: `rpo-miss-web-${Date.parse("2026-05-01T01:00:00Z")}`,
      },
    });
    expect(logged.filter((l) => l.includes("missed its recovery point objective"))).toHaveLength(1);
    const jobs = await vault.listJobs();
    expect(jobs.filter((j) => j.type === JobType.RpoMiss).map((j) => j.status)).toEqual(["failed"]);
  });

  it("alerts the next missed slot again, and shows the miss in the metrics", async () => {
    now = Date.parse("2026-05-02T01:45:00Z");
    const report = await runtime.tick();
    await runtime.settle();
    expect(report.rpo.alerted.map((m) => m.requiredSince)).toEqual([Date.parse("2026-05-02T01:00:00Z")]);
    expect(rpoAlerts()).toHaveLength(2);
    const metrics = await (await import("../../lib/app/observe/prometheus.ts")).prometheusText(
      await (await import("../../lib/app/observe/facts.ts")).gatherFacts(vault),
    );
    const families = parsePrometheus(metrics);
    expect(
      sample(family(families, "blockvault_rpo_compliant"), "blockvault_rpo_compliant", { disk: "web" }),
    ).toBe(0);
    expect(
      sample(family(families, "blockvault_jobs"), "blockvault_jobs", { type: "rpo-miss", status: "failed" }),
    ).toBe(2);
  });

  it("is compliant again once a backup lands, and alerts nothing more", async () => {
    await rename(`${image}.away`, image);
    now = Date.parse("2026-05-02T02:00:00Z");
    const source = await openFileSource(image);
    await vault.backup(source, { disk: "web" }).finally(() => source.close());
    now = Date.parse("2026-05-02T03:00:00Z");
    const report = await runtime.tick();
    await runtime.settle();
    expect(report.rpo.missed).toEqual([]);
    expect(report.rpo.statuses).toMatchObject([{ disk: "web", compliant: true }]);
    expect(rpoAlerts()).toHaveLength(2);
  });

  it("keeps alerting to the log when the webhook is down", async () => {
    receiver.server.close();
    now = Date.parse("2026-05-04T02:00:00Z");
    await rename(image, `${image}.away`);
    const report = await runtime.tick();
    await runtime.settle();
    expect(report.rpo.alerted).toHaveLength(1);
    expect(logged.some((l) => l.startsWith("alert not delivered: alert webhook http://127.0.0.1:"))).toBe(
      true,
    );
    expect(logged.filter((l) => l.includes("missed its recovery point objective"))).toHaveLength(3);
  });
});

describe("serve --alert-webhook", () => {
  it("refuses a URL that is not http(s), or carries credentials, before it listens", async () => {
    const root = await tempDir("rpo-url");
    const vault = await initLocalVault(join(root, "vault"), { name: "u", blockSize: 4096 });
    try {
      for (const [url, message] of [
        ["file:///etc/passwd", '--alert-webhook must be an http:// or https:// URL, got "file:"'],
        ["not a url", '--alert-webhook must be an absolute http:// or https:// URL, got "not a url"'],
        ["https://user:pw@hooks.example/x", "--alert-webhook must not carry credentials in the URL"],
      ] as const) {
        await expect(
          startEmbeddedRuntime({
            vault,
            principals: async () => vault.principal,
            port: 0,
            tickMs: 0,
            alertWebhook: url,
          }),
        ).rejects.toThrow(message);
      }
    } finally {
      await vault.close();
      await removeDir(root);
    }
  });

  describe("blockvault serve's alert and drill options", () => {
    it("refuses a bad --alert-webhook or --drill-dir in one line, exit 2", async () => {
      const root = await tempDir("rpo-cli");
      const dir = join(root, "vault");
      await (await initLocalVault(dir, { name: "c", blockSize: 4096 })).close();
      try {
        const hook = await runCli([
          "serve",
          "--vault",
          dir,
          "--port",
          "0",
          "--alert-webhook",
          "ftp://hooks.example/x",
        ]);
        expect([hook.code, hook.stderr]).toEqual([
          2,
          'blockvault: --alert-webhook must be an http:// or https:// URL, got "ftp:"',
        ]);
        const drill = await runCli([
          "serve",
          "--vault",
          dir,
          "--port",
          "0",
          "--drill-dir",
          join(root, "none"),
        ]);
        expect([drill.code, drill.stderr]).toEqual([
          2,
          `blockvault: --drill-dir ${join(root, "none")} is not an existing directory`,
        ]);
      } finally {
        await removeDir(root);
      }
    });
  });
});

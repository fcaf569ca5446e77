import { rename } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localVaultPaths } from "../../lib/compose/local.ts";
import { call, type HttpFixture, seed, startHttpFixture } from "../helpers/http-api-fixture.ts";
import { family, parsePrometheus, sample } from "../helpers/prometheus-parser.ts";
import { owner, rawRequest, type ServeFixture, startServeFixture } from "../helpers/serve-fixture.ts";

describe("GET /metrics and GET /healthz on blockvault serve", () => {
  let f: ServeFixture;
  beforeAll(async () => {
    f = await startServeFixture();
  });
  afterAll(() => f.close());

  it("serves the vault's metrics in a format Prometheus' own parser reads", async () => {
    const reply = await owner(f, "GET", "/metrics");
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    const families = parsePrometheus(reply.text);
    const jobs = family(families, "blockvault_jobs");
    expect(jobs.type).toBe("gauge");
    expect(sample(jobs, "blockvault_jobs", { type: "backup", status: "completed", vault: "serve" })).toBe(1);
    expect(sample(jobs, "blockvault_jobs", { type: "restore", status: "failed" })).toBe(0);
    const scanned = family(families, "blockvault_backup_bytes_scanned");
    expect(scanned.type).toBe("counter");
    expect(sample(scanned, "blockvault_backup_bytes_scanned_total")).toBe(40_000);
    const stored = sample(
      family(families, "blockvault_backup_bytes_stored"),
      "blockvault_backup_bytes_stored_total",
    );
    expect(stored).toBeGreaterThan(0);
    const duration = family(families, "blockvault_backup_duration_seconds");
    expect(duration.type).toBe("histogram");
    expect(sample(duration, "blockvault_backup_duration_seconds_count")).toBe(1);
    expect(sample(duration, "blockvault_backup_duration_seconds_bucket", { le: "+Inf" })).toBe(1);
    const point = (await owner(f, "GET", `/recovery-points/${f.point}`)).body;
    const last = family(families, "blockvault_last_backup_success_timestamp_seconds");
    expect(sample(last, last.name, { disk: "web" })).toBe(point.created / 1000);
    const storage = family(families, "blockvault_storage_bytes");
    expect(sample(storage, storage.name, { tier: "snapshot" })).toBe(point.bytesStored);
    expect(sample(storage, storage.name, { tier: "archive" })).toBe(0);
    expect(sample(family(families, "blockvault_approvals_pending"), "blockvault_approvals_pending")).toBe(0);
    expect(
      sample(family(families, "blockvault_gc_reclaimed_bytes"), "blockvault_gc_reclaimed_bytes_total"),
    ).toBe(0);
    expect(
      sample(family(families, "blockvault_rpo_compliant"), "blockvault_rpo_compliant", { disk: "web" }),
    ).toBe(1);
  });

  it("refuses /metrics without a token", async () => {
    expect((await rawRequest(f.port, "GET", "/metrics")).status).toBe(401);
  });

  it("answers /healthz without a token: 200 while both answer, 503 naming the store when it is gone", async () => {
    const healthy = await rawRequest(f.port, "GET", "/healthz");
    expect(healthy.status).toBe(200);
    expect(healthy.body).toEqual({
      status: "ok",
      checks: { catalog: { ok: true }, objectStore: { ok: true } },
    });
    const objects = localVaultPaths(f.dir).objects;
    await rename(objects, `${objects}.gone`);
    try {
      const broken = await rawRequest(f.port, "GET", "/healthz");
      expect(broken.status).toBe(503);
      expect(broken.body).toEqual({
        status: "unavailable",
        checks: { catalog: { ok: true }, objectStore: { ok: false, error: "object store unreachable" } },
      });
      // The cause (a path on this machine) stays in the server's log.
      expect(broken.text).not.toContain(f.dir);
    } finally {
      await rename(`${objects}.gone`, objects);
    }
    expect((await rawRequest(f.port, "GET", "/healthz")).status).toBe(200);
  });

  it("still refuses /healthz from another origin's page", async () => {
    const reply = await rawRequest(f.port, "GET", "/healthz", {
      headers: { origin: "https://evil.example" },
    });
    expect(reply.status).toBe(403);
  });
});

describe("GET /metrics with principals", () => {
  let f: HttpFixture;
  beforeAll(async () => {
    f = await startHttpFixture();
    await seed(f);
  });
  afterAll(() => f.close());

  it("is readable by a reader, and counts the approval requests pending", async () => {
    const early = await call(
      f,
      "DELETE",
      `/recovery-points/${(await call(f, "GET", "/recovery-points?disk=web", { token: f.tokens.reader })).body.items[0].id}`,
      { token: f.tokens.contributor },
    );
    expect(early.status).toBe(428);
    const response = await fetch(`${f.url}/metrics`, {
      headers: { authorization: `Bearer ${f.tokens.reader}` },
    });
    expect(response.status).toBe(200);
    const families = parsePrometheus(await response.text());
    expect(sample(family(families, "blockvault_approvals_pending"), "blockvault_approvals_pending")).toBe(1);
    expect(
      sample(family(families, "blockvault_jobs"), "blockvault_jobs", { type: "backup", status: "completed" }),
    ).toBe(3);
  });

  it("refuses an unknown token", async () => {
    const response = await fetch(`${f.url}/metrics`, { headers: { authorization: "Bearer nope" } });
    expect(response.status).toBe(401);
  });
});

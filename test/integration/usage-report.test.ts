import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobRecord, RecoveryPointRecord } from "../../lib/model.ts";
import { runCli } from "../helpers/cli.ts";
import { call, type HttpFixture, type Seeded, seed, startHttpFixture } from "../helpers/http-api-fixture.ts";

/** Python's csv module reads what `report --csv` prints: rows as dictionaries. */
function readCsv(text: string): Record<string, string>[] {
  const script = "import csv,json,sys; print(json.dumps(list(csv.DictReader(sys.stdin))))";
  const r = spawnSync("python3", ["-c", script], { input: text, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`python3 could not read the CSV (install python3): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string>[];
}

describe("usage reports (GET /reports/usage, blockvault report)", () => {
  let f: HttpFixture;
  let seeded: Seeded;
  let points: RecoveryPointRecord[];
  let jobs: JobRecord[];
  beforeAll(async () => {
    f = await startHttpFixture();
    seeded = await seed(f);
    // One point soft-deleted: still stored, no longer "kept".
    await call(f, "DELETE", `/recovery-points/${seeded.scratch}`, { token: f.tokens.contributor });
    points = (await call(f, "GET", "/recovery-points", { token: f.tokens.reader })).body.items;
    jobs = (await call(f, "GET", "/jobs", { token: f.tokens.reader })).body.items;
  });
  afterAll(() => f.close());

  it("gives a reader each item's sizes, storage, ratios, points, jobs and RPO standing", async () => {
    const reply = await call(f, "GET", "/reports/usage", { token: f.tokens.reader });
    expect(reply.status).toBe(200);
    const { items, vault } = reply.body;
    expect(items.map((i: { disk: string }) => i.disk)).toEqual(["scratch", "web"]);
    const web = items[1];
    const webPoints = points.filter((p) => p.disk === "web");
    const webJobs = jobs.filter((j) => j.disk === "web" && j.type === "backup");
    const stored = webPoints.reduce((n, p) => n + p.bytesStored, 0);
    const changed = webJobs.reduce((n, j) => n + j.bytesChanged, 0);
    expect(web).toMatchObject({
      policy: "daily",
      logicalSize: 40_000,
      storedBytes: { snapshot: stored, vault: 0, archive: 0 },
      storedTotal: stored,
      pointsKept: 2,
      pointsSoftDeleted: 0,
      jobsSucceeded: 2,
      jobsFailed: 0,
      rpoCompliant: true,
      rpoMisses: 0,
      lastGood: Math.max(...webPoints.map((p) => p.created)),
    });
    // The incremental changed one 4 KiB block of a 40 000-byte disk: 80 000 logical bytes kept
    // for 40 000 + 4096 changed, whatever compression made of them.
    expect(changed).toBe(40_000 + 4096);
    expect(web.dedupRatio).toBe(Math.round((80_000 / changed) * 100) / 100);
    expect(web.compressionRatio).toBe(
      Math.round((changed / webJobs.reduce((n, j) => n + j.bytesStored, 0)) * 100) / 100,
    );
    expect(items[0]).toMatchObject({ disk: "scratch", policy: null, pointsKept: 0, pointsSoftDeleted: 1 });
    expect(vault).toMatchObject({
      name: "http",
      pointsKept: 2,
      pointsSoftDeleted: 1,
      jobsSucceeded: 3,
      itemsCompliant: 2,
      itemsOutsideRpo: 0,
      storedTotal: points.reduce((n, p) => n + p.bytesStored, 0),
    });
  });

  it("counts jobs since the date given (none from a later one), and refuses a date it cannot read", async () => {
    const later = await call(f, "GET", "/reports/usage?since=2999-01-01", { token: f.tokens.reader });
    expect(later.status).toBe(200);
    expect([later.body.vault.jobsSucceeded, later.body.vault.jobsFailed]).toEqual([0, 0]);
    const bad = await call(f, "GET", "/reports/usage?since=2026-13-45", { token: f.tokens.reader });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^query.since must match /);
    const newest = Math.max(...jobs.map((j) => j.started));
    const since = new Date(newest).toISOString();
    const recent = await call(f, "GET", `/reports/usage?since=${encodeURIComponent(since)}`, {
      token: f.tokens.reader,
    });
    expect(recent.body.vault.jobsSucceeded).toBe(
      jobs.filter((j) => j.started >= newest && j.status === "completed").length,
    );
    expect(recent.body.vault.pointsKept).toBe(2);
  });

  it("refuses a caller without a token", async () => {
    expect((await call(f, "GET", "/reports/usage")).status).toBe(401);
  });

  it("prints the same report from the CLI, as JSON and as CSV", async () => {
    const dir = join(f.root, "vault");
    // The fixture's clock is in May 2026, the CLI's is the machine's: both count from one date.
    const base = ["--vault", dir, "--token", f.tokens.reader, "--since", "2026-01-01"];
    const json = await runCli(["report", ...base, "--json"]);
    expect(json.stderr).toBe("");
    expect(json.code).toBe(0);
    const http = (await call(f, "GET", "/reports/usage?since=2026-01-01", { token: f.tokens.reader })).body;
    const cli = JSON.parse(json.stdout);
    // By the machine's clock, months after the fixture's, the daily disk is long past its RPO.
    expect(cli.items.map((i: { rpoCompliant: boolean }) => i.rpoCompliant)).toEqual([true, false]);
    expect(cli.vault.itemsOutsideRpo).toBe(1);
    const sameClock = (r: typeof cli) => ({
      ...r,
      generated: 0,
      vault: { ...r.vault, itemsCompliant: 0, itemsOutsideRpo: 0 },
      items: r.items.map((i: object) => ({ ...i, rpoCompliant: null })),
    });
    expect(sameClock(cli)).toEqual(sameClock(http));
    const csv = await runCli(["report", ...base, "--csv"]);
    expect(csv.code).toBe(0);
    const rows = readCsv(csv.stdout);
    expect(rows.map((r) => [r.scope, r.name])).toEqual([
      ["vault", "http"],
      ["item", "scratch"],
      ["item", "web"],
    ]);
    expect(rows[2]).toMatchObject({
      policy: "daily",
      logical_size: "40000",
      stored_snapshot: String(http.items[1].storedBytes.snapshot),
      points_kept: "2",
      jobs_succeeded: "2",
      rpo_compliant: "false",
      last_good: new Date(http.items[1].lastGood).toISOString(),
    });
    const text = await runCli(["report", ...base]);
    expect(text.stdout).toContain('Vault "http" since');
    expect(text.stdout).toMatch(/web\s+daily/);
    const both = await runCli(["report", ...base, "--json", "--csv"]);
    expect(both.code).toBe(2);
    expect(JSON.parse(both.stderr).error.message).toBe("--csv and --json are exclusive: choose one");
  });
});

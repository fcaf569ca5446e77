import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { call, type HttpFixture, readerView, seed, startHttpFixture } from "../helpers/http-api-fixture.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let f: HttpFixture;
let first: string;
let latest: string;
let changed: Buffer;

beforeEach(async () => {
  f = await startHttpFixture();
  ({ first, latest, changed } = await seed(f));
});

afterEach(() => f.close());

const state = () => readerView(f);
const operator = () => ({ token: f.tokens.operator });

describe("POST /restores and GET /restores/{id}", () => {
  it("accepts a restore with 202 and a Location, runs it, and reports the job", async () => {
    const to = join(f.root, "out.img");
    const res = await call(f, "POST", "/restores", {
      ...operator(),
      body: { recoveryPointId: first, target: { kind: "file", path: to } },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ jobId: expect.any(String), status: "queued" });
    expect(res.headers.get("location")).toBe(`/restores/${res.body.jobId}`);
    await f.workflows.settled();
    expect(await readFile(to)).toEqual(f.imageBytes);
    const job = await call(f, "GET", `/restores/${res.body.jobId}`, { token: f.tokens.reader });
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({
      jobId: res.body.jobId,
      status: "completed",
      recoveryPointId: first,
      disk: "web",
      target: { kind: "file", path: to },
      bytesRestored: f.imageBytes.length,
    });
    expect(f.workflows.starts).toEqual([
      {
        machine: "restore",
        name: res.body.jobId,
        input: { jobId: res.body.jobId, pointId: first, target: { kind: "file", path: to } },
      },
    ]);
  });

  it("restores a byte range", async () => {
    const to = join(f.root, "part.img");
    const range = { offset: 6000, length: 9000 };
    const res = await call(f, "POST", "/restores", {
      ...operator(),
      body: { recoveryPointId: latest, target: { kind: "file", path: to }, range },
    });
    expect(res.status).toBe(202);
    await f.workflows.settled();
    expect(await readFile(to)).toEqual(changed.subarray(6000, 15000));
    expect((await call(f, "GET", `/restores/${res.body.jobId}`, operator())).body.range).toEqual(range);
  });

  it("honours Idempotency-Key: the same request twice is one job and one restore", async () => {
    const to = join(f.root, "once.img");
    const body = { recoveryPointId: first, target: { kind: "file", path: to, force: false } };
    const headers = { "idempotency-key": "restore-web-2026-05-01" };
    const a = await call(f, "POST", "/restores", { ...operator(), body, headers });
    // The same request with its keys in another order is the same request.
    const reordered = { target: { force: false, path: to, kind: "file" }, recoveryPointId: first };
    const b = await call(f, "POST", "/restores", { ...operator(), body: reordered, headers });
    await f.workflows.settled();
    const c = await call(f, "POST", "/restores", { ...operator(), body, headers });
    expect([a.status, b.status, c.status]).toEqual([202, 202, 202]);
    expect(new Set([a.body.jobId, b.body.jobId, c.body.jobId]).size).toBe(1);
    expect(c.body.status).toBe("completed");
    expect(c.headers.get("location")).toBe(`/restores/${a.body.jobId}`);
    expect(f.workflows.starts).toHaveLength(1);
    const jobs = (await call(f, "GET", "/jobs", operator())).body.items;
    expect(jobs.filter((j: { id: string }) => j.id === a.body.jobId)).toHaveLength(1);
    // The same key for another restore is a conflict, and changes nothing.
    const before = await state();
    const other = await call(f, "POST", "/restores", {
      ...operator(),
      body: { ...body, recoveryPointId: latest },
      headers,
    });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({
      code: "CONFLICT",
      message: expect.stringMatching(/Idempotency-Key/),
    });
    expect(await state()).toEqual(before);
    expect(f.workflows.starts).toHaveLength(1);
  });

  it("refuses bad requests with a message naming the field, and records nothing", async () => {
    const before = await state();
    const target = { kind: "file", path: join(f.root, "never.img") };
    const cases: [unknown, number, string | RegExp][] = [
      [{ target }, 400, "body.recoveryPointId is required"],
      [
        { recoveryPointId: first, target: { kind: "nfs", path: "/x" } },
        400,
        'body.target.kind must be one of "file", "s3", "ebs-snapshot", got "nfs"',
      ],
      [{ recoveryPointId: first, target: { kind: "file" } }, 400, "body.target.path is required"],
      [
        { recoveryPointId: first, target: { kind: "s3", url: "http://x/y" } },
        400,
        /^body\.target\.url must match/,
      ],
      [
        { recoveryPointId: first, target, range: { offset: -1, length: 10 } },
        400,
        "body.range.offset must be >= 0, got -1",
      ],
      [
        { recoveryPointId: first, target, range: { offset: 0, length: 0 } },
        400,
        "body.range.length must be >= 1, got 0",
      ],
      [
        { recoveryPointId: first, target, range: { offset: 39_000, length: 2000 } },
        400,
        /^body\.range must lie inside the disk \(40000 bytes\)/,
      ],
      [{ recoveryPointId: first, target, extra: 1 }, 400, "body.extra is not allowed"],
      [{ recoveryPointId: "no-such-point", target }, 404, "recovery point no-such-point does not exist"],
    ];
    for (const [body, status, message] of cases) {
      const res = await call(f, "POST", "/restores", { ...operator(), body });
      expect({ status: res.status, message: res.body.error.message }).toEqual({
        status,
        message: typeof message === "string" ? message : expect.stringMatching(message),
      });
    }
    const notJson = await call(f, "POST", "/restores", { ...operator(), raw: "{recoveryPointId:" });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.message).toMatch(/^body is not valid JSON/);
    expect((await call(f, "POST", "/restores", operator())).body.error.message).toBe(
      "body is required (JSON)",
    );
    const key = await call(f, "POST", "/restores", {
      ...operator(),
      body: { recoveryPointId: first, target },
      headers: { "idempotency-key": "" },
    });
    expect(key.body.error.message).toBe("header.Idempotency-Key must not be empty");
    // A reader may not restore.
    const denied = await call(f, "POST", "/restores", {
      token: f.tokens.reader,
      body: { recoveryPointId: first, target },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe("ACCESS_DENIED");
    expect(await state()).toEqual(before);
    expect(f.workflows.starts).toHaveLength(0);
  });

  it("answers 404 for an unknown job and for a job that is not a restore", async () => {
    const jobs = (await call(f, "GET", "/jobs?limit=1", operator())).body.items;
    expect(jobs[0].type).toBe("backup");
    for (const id of ["no-such-job", jobs[0].id]) {
      const res = await call(f, "GET", `/restores/${id}`, operator());
      expect(res.status).toBe(404);
      expect(res.body.error).toEqual({ code: "NOT_FOUND", message: `restore job ${id} does not exist` });
    }
  });
});

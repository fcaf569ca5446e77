import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  call,
  DAILY,
  type HttpFixture,
  readerView,
  seed,
  startHttpFixture,
} from "../helpers/http-api-fixture.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let f: HttpFixture;

beforeEach(async () => {
  f = await startHttpFixture();
  await seed(f);
});

afterEach(() => f.close());

const as = (role: keyof HttpFixture["tokens"]) => ({ token: f.tokens[role] });

describe("policies", () => {
  it("creates, lists, shows and updates policies", async () => {
    const weekly = { ...DAILY, name: "nightly 2", schedule: { kind: "daily", times: ["02:00"] } };
    const created = await call(f, "POST", "/policies", { ...as("contributor"), body: weekly });
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe("/policies/nightly%202");
    expect(created.body).toMatchObject({ name: "nightly 2", version: 1, definition: { name: "nightly 2" } });
    const names = (await call(f, "GET", "/policies", as("reader"))).body.items.map(
      (p: { name: string }) => p.name,
    );
    expect(names).toEqual(["daily", "nightly 2"]);
    expect((await call(f, "GET", "/policies/nightly%202", as("reader"))).body.version).toBe(1);
    const { name: _, ...unnamed } = { ...weekly, snapshotRetentionDays: 3 };
    const updated = await call(f, "PUT", "/policies/nightly%202", { ...as("contributor"), body: unnamed });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ version: 2, definition: { snapshotRetentionDays: 3 } });
  });

  it("answers 409 for a duplicate or a policy in use, 400 naming the field, 404 for unknown, 405; nothing changes", async () => {
    const before = await readerView(f);
    const dup = await call(f, "POST", "/policies", { ...as("contributor"), body: DAILY });
    expect([dup.status, dup.body.error.code]).toEqual([409, "ALREADY_EXISTS"]);
    const bad = { ...DAILY, name: "bad", retention: { daily: { days: 0 } } };
    const invalid = await call(f, "POST", "/policies", { ...as("contributor"), body: bad });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toMatch(/retention\.daily\.days/);
    expect((await call(f, "POST", "/policies", { ...as("contributor"), body: {} })).body.error.message).toBe(
      "body.name is required",
    );
    expect((await call(f, "GET", "/policies/none", as("reader"))).status).toBe(404);
    expect((await call(f, "PUT", "/policies/none", { ...as("contributor"), body: DAILY })).status).toBe(404);
    expect(
      (await call(f, "POST", "/policies", { ...as("reader"), body: { ...DAILY, name: "x" } })).status,
    ).toBe(403);
    const inUse = await call(f, "DELETE", "/policies/daily", as("contributor"));
    expect([inUse.status, inUse.body.error.code]).toEqual([409, "CONFLICT"]);
    expect(inUse.body.error.message).toMatch(/protects "web"/);
    expect((await call(f, "DELETE", "/policies/none", as("contributor"))).status).toBe(404);
    expect((await call(f, "DELETE", "/policies/daily", as("reader"))).status).toBe(403);
    const patch = await call(f, "PATCH", "/policies/daily", as("contributor"));
    expect(patch.status).toBe(405);
    expect(patch.headers.get("allow")).toBe("GET, PUT, DELETE");
    expect(await readerView(f)).toEqual(before);
  });

  it("deletes a policy no disk uses (204), after which its name is free", async () => {
    const spare = { ...DAILY, name: "spare" };
    expect((await call(f, "POST", "/policies", { ...as("contributor"), body: spare })).status).toBe(201);
    const deleted = await call(f, "DELETE", "/policies/spare", as("contributor"));
    expect(deleted.status).toBe(204);
    expect((await call(f, "GET", "/policies/spare", as("reader"))).status).toBe(404);
    expect((await call(f, "POST", "/policies", { ...as("contributor"), body: spare })).status).toBe(201);
  });
});

describe("protected items", () => {
  it("protects a disk (201, then 200 again), shows it, and stops protecting it", async () => {
    const body = { disk: "db", source: f.image, policy: "daily" };
    const created = await call(f, "POST", "/protected-items", { ...as("contributor"), body });
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe("/protected-items/db");
    expect(created.body).toMatchObject({ name: "db", policy: "daily", size: 40_000, protected: true });
    expect((await call(f, "POST", "/protected-items", { ...as("contributor"), body })).status).toBe(200);
    const items = (await call(f, "GET", "/protected-items", as("reader"))).body.items;
    expect(items.map((d: { name: string }) => d.name)).toEqual(["db", "scratch", "web"]);
    expect((await call(f, "GET", "/protected-items/db", as("reader"))).body.protected).toBe(true);
    const stopped = await call(f, "DELETE", "/protected-items/db", as("contributor"));
    expect(stopped.status).toBe(200);
    expect(stopped.body).toMatchObject({ name: "db", protected: false });
    expect(stopped.body.policy).toBeUndefined();
  });

  it("refuses bad requests (400, 403, 404, 422, 428) and changes nothing", async () => {
    const before = await readerView(f);
    const post = (body: unknown, role: keyof HttpFixture["tokens"] = "contributor") =>
      call(f, "POST", "/protected-items", { ...as(role), body });
    const missing = await post({ disk: "db", policy: "daily" });
    expect([missing.status, missing.body.error.message]).toEqual([400, "body.source is required"]);
    expect((await post({ disk: "db", source: f.image, policy: "none" })).status).toBe(404);
    expect((await post({ disk: "db", source: "/no/such.img", policy: "daily" })).status).toBe(422);
    // A reader learns nothing about the server's files: refused before the source is opened.
    expect((await post({ disk: "db", source: "/no/such.img", policy: "daily" }, "reader")).status).toBe(403);
    expect((await call(f, "GET", "/protected-items/none", as("reader"))).status).toBe(404);
    expect((await call(f, "DELETE", "/protected-items/none", as("contributor"))).status).toBe(404);
    const bad = await call(f, "DELETE", "/protected-items/web?deletePoints=maybe", as("contributor"));
    expect([bad.status, bad.body.error.message]).toEqual([
      400,
      'query.deletePoints must be true or false, got "maybe"',
    ]);
    const critical = await call(f, "DELETE", "/protected-items/web?deletePoints=true", as("contributor"));
    expect([critical.status, critical.body.error.code]).toEqual([428, "APPROVAL_REQUIRED"]);
    expect(await readerView(f)).toEqual(before);
  });
});

describe("stopping protection with deletion", () => {
  it("needs an approval, then soft-deletes the disk's points", async () => {
    const path = "/protected-items/web?deletePoints=true";
    const asked = await call(f, "DELETE", path, as("contributor"));
    expect(asked.status).toBe(428);
    await f.owner.as({ name: "sam", roles: ["security-admin"] }).approve(asked.body.error.approvalRequestId);
    const headers = { "x-approval-id": asked.body.error.approvalRequestId };
    const done = await call(f, "DELETE", path, { ...as("contributor"), headers });
    expect([done.status, done.body.protected]).toEqual([200, false]);
    const points = (await call(f, "GET", "/recovery-points?disk=web", as("reader"))).body.items;
    expect(points.map((p: { state: string }) => p.state)).toEqual(["soft-deleted", "soft-deleted"]);
  });
});

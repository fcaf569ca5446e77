import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fromApiGateway, toApiGateway } from "../../functions/apigw.ts";
import { handleHttp } from "../../lib/app/http/handle.ts";
import { iamPrincipals, parseIamRoleMap } from "../../lib/app/http/principals.ts";
import {
  apiEvent,
  call,
  type HttpFixture,
  readerView,
  type Seeded,
  seed,
  startHttpFixture,
} from "../helpers/http-api-fixture.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let f: HttpFixture;
let s: Seeded;

beforeEach(async () => {
  f = await startHttpFixture();
  s = await seed(f);
});

afterEach(() => f.close());

const as = (role: keyof HttpFixture["tokens"]) => ({ token: f.tokens[role] });

describe("recovery points", () => {
  it("lists them newest first, of one disk or all, and shows one", async () => {
    const web = await call(f, "GET", "/recovery-points?disk=web", as("reader"));
    expect(web.status).toBe(200);
    expect(web.body.items.map((p: { id: string }) => p.id)).toEqual([s.latest, s.first]);
    expect((await call(f, "GET", "/recovery-points", as("reader"))).body.items).toHaveLength(3);
    const one = await call(f, "GET", `/recovery-points/${s.first}`, as("reader"));
    expect(one.body).toMatchObject({ id: s.first, disk: "web", state: "available", logicalSize: 40_000 });
    expect((await call(f, "GET", "/recovery-points/nope", as("reader"))).status).toBe(404);
    const bad = await call(f, "GET", "/recovery-points?disk=-x", as("reader"));
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^query\.disk must match/);
  });

  it("soft-deletes and undeletes; undeleting an available point is a conflict", async () => {
    const deleted = await call(f, "DELETE", `/recovery-points/${s.scratch}`, as("contributor"));
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({
      id: s.scratch,
      state: "soft-deleted",
      deleteAfter: expect.any(Number),
    });
    const back = await call(f, "POST", `/recovery-points/${s.scratch}/undelete`, as("contributor"));
    expect(back.status).toBe(200);
    expect(back.body.state).toBe("available");
    const again = await call(f, "POST", `/recovery-points/${s.scratch}/undelete`, as("contributor"));
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("CONFLICT");
    expect((await call(f, "POST", "/recovery-points/nope/undelete", as("contributor"))).status).toBe(404);
  });

  it("refuses a reader's delete with 403, changing nothing", async () => {
    const before = await readerView(f);
    const res = await call(f, "DELETE", `/recovery-points/${s.scratch}`, as("reader"));
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: "ACCESS_DENIED", message: expect.stringMatching(/rita/) });
    expect(await readerView(f)).toEqual(before);
  });

  it("asks for approval (428) before deleting a retained point, then deletes with X-Approval-Id", async () => {
    const first = await call(f, "DELETE", `/recovery-points/${s.latest}`, as("contributor"));
    expect(first.status).toBe(428);
    expect(first.body.error).toMatchObject({
      code: "APPROVAL_REQUIRED",
      approvalRequestId: expect.any(String),
    });
    const request = first.body.error.approvalRequestId as string;
    expect((await call(f, "GET", `/recovery-points/${s.latest}`, as("reader"))).body.state).toBe("available");
    await f.owner.as({ name: "sam", roles: ["security-admin"] }).approve(request);
    const headers = { "x-approval-id": request };
    const done = await call(f, "DELETE", `/recovery-points/${s.latest}`, { ...as("contributor"), headers });
    expect(done.status).toBe(200);
    expect(done.body.state).toBe("soft-deleted");
  });
});

describe("jobs", () => {
  it("lists jobs filtered by status, disk and limit, and refuses bad queries naming the parameter", async () => {
    const all = (await call(f, "GET", "/jobs", as("reader"))).body.items;
    expect(all).toHaveLength(3);
    const web = await call(f, "GET", "/jobs?status=completed&disk=web&limit=1", as("reader"));
    expect(web.body.items).toHaveLength(1);
    expect(web.body.items[0]).toMatchObject({ type: "backup", disk: "web", recoveryPoint: s.latest });
    const cases: [string, string][] = [
      ["?limit=-1", "query.limit must be >= 0, got -1"],
      ["?limit=ten", 'query.limit must be an integer, got "ten"'],
      [
        "?status=done",
        'query.status must be one of "queued", "running", "completed", "failed", "abandoned", got "done"',
      ],
      ["?disks=web", "query.disks is not allowed"],
    ];
    for (const [query, message] of cases) {
      const res = await call(f, "GET", `/jobs${query}`, as("reader"));
      expect([res.status, res.body.error.message]).toEqual([400, message]);
    }
  });
});

describe("callers and routes", () => {
  it("answers 401 with WWW-Authenticate without a valid token, and 404 for unknown routes", async () => {
    const none = await call(f, "GET", "/jobs");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await call(f, "GET", "/jobs", { token: "bv_wrong" })).status).toBe(401);
    const basic = await call(f, "GET", "/jobs", { headers: { authorization: "Basic eDp5" } });
    expect(basic.status).toBe(401);
    expect(basic.body.error.code).toBe("UNAUTHENTICATED");
    const unknown = await call(f, "GET", "/nothing/here", as("reader"));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("NOT_FOUND");
  });

  it("serves API Gateway events as the IAM caller's principal, as functions/api.ts does", async () => {
    const map = parseIamRoleMap(JSON.stringify({ "arn:aws:iam::123456789012:role/ops": ["contributor"] }));
    const caller = "arn:aws:sts::123456789012:assumed-role/ops/alice";
    const handle = (event: Parameters<typeof fromApiGateway>[0]) =>
      handleHttp(f.app, fromApiGateway(event), iamPrincipals(map)).then(toApiGateway);
    const listed = await handle(apiEvent({ rawQueryString: "disk=web&limit=1" }, caller));
    expect(listed.statusCode).toBe(200);
    expect(JSON.parse(listed.body!).items).toHaveLength(1);
    const undelete = apiEvent({
      rawPath: `/recovery-points/${s.first}/undelete`,
      requestContext: {
        stage: "$default",
        http: { method: "POST" },
        authorizer: { iam: { userArn: caller } },
      },
    } as never);
    expect((await handle(undelete)).statusCode).toBe(409);
    const audit = await f.owner.listAudit({ action: "point.undelete" });
    // Named by the configured role, not the session (whose name the caller picks).
    expect(audit.map((e) => [e.principal, e.outcome])).toEqual([
      ["arn:aws:iam::123456789012:role/ops", "refused"],
    ]);
    const stranger = await handle(apiEvent({}, "arn:aws:iam::123456789012:user/eve"));
    expect([stranger.statusCode, JSON.parse(stranger.body!).error.code]).toEqual([403, "ACCESS_DENIED"]);
  });
});

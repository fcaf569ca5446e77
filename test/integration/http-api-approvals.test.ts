import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApprovalRequiredError } from "../../lib/errors.ts";
import { Role } from "../../lib/rules/roles.ts";
import { call, type HttpFixture, type Seeded, seed, startHttpFixture } from "../helpers/http-api-fixture.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let f: HttpFixture;
let points: Seeded;

beforeEach(async () => {
  f = await startHttpFixture();
  points = await seed(f);
});

afterEach(() => f.close());

const as = (role: keyof HttpFixture["tokens"]) => ({ token: f.tokens[role] });
const withApproval = (id: string) => ({ headers: { "x-approval-id": id } });

/** Carl (contributor) asks to delete the latest point early: the request's id. */
async function earlyDeleteRequest(): Promise<string> {
  const first = await call(f, "DELETE", `/recovery-points/${points.latest}`, as("contributor"));
  expect([first.status, first.body.error.code]).toStrictEqual([428, "APPROVAL_REQUIRED"]);
  return first.body.error.approvalRequestId as string;
}

/** The audit entries of `action` on `target`: who, and how it ended. */
async function audited(action: string, target: string): Promise<string[]> {
  const entries = await f.owner.listAudit({ action });
  return entries.filter((e) => e.target === target).map((e) => `${e.principal}:${e.outcome}`);
}

describe("GET /approvals", () => {
  it("lists what each request would do, newest first, to a reader, and filters by state", async () => {
    const id = await earlyDeleteRequest();
    const listed = await call(f, "GET", "/approvals", as("reader"));
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0]).toMatchObject({
      id,
      operation: "point.delete-early",
      target: points.latest,
      requester: "carl",
      state: "pending",
    });
    // The digest of the parameters and the vault's id stay inside.
    expect(listed.body.items[0]).not.toHaveProperty("paramsDigest");
    expect((await call(f, "GET", "/approvals?state=approved", as("reader"))).body.items).toEqual([]);
    const bad = await call(f, "GET", "/approvals?state=maybe", as("reader"));
    expect([bad.status, bad.body.error.message]).toStrictEqual([400, expect.stringMatching(/state/)]);
    expect((await call(f, "GET", "/approvals")).status).toBe(401);
  });
});

describe("POST /approvals/{id}/approve", () => {
  it("lets a second security admin approve, after which the requester completes the operation once", async () => {
    const id = await earlyDeleteRequest();
    const approved = await call(f, "POST", `/approvals/${id}/approve`, as("admin"));
    expect([approved.status, approved.body.state, approved.body.approver]).toStrictEqual([
      200,
      "approved",
      "sam",
    ]);
    const again = await call(f, "POST", `/approvals/${id}/approve`, as("admin2"));
    expect([again.status, again.body.error.message]).toStrictEqual([409, expect.stringMatching(/already/)]);
    const done = await call(f, "DELETE", `/recovery-points/${points.latest}`, {
      ...as("contributor"),
      ...withApproval(id),
    });
    expect([done.status, done.body.state]).toStrictEqual([200, "soft-deleted"]);
    const listed = (await call(f, "GET", "/approvals", as("reader"))).body.items;
    expect(listed[0]).toMatchObject({ id, state: "used" });
    expect(await audited("approval.approve", id)).toEqual(["sam:succeeded", "alice:refused"]);
  });

  it("refuses the requester's own request, and every role but security-admin, leaving it pending", async () => {
    const soft = await call(f, "PUT", "/vault/soft-delete", { ...as("admin"), body: { enabled: false } });
    expect(soft.status).toBe(428);
    const id = soft.body.error.approvalRequestId as string;
    const own = await call(f, "POST", `/approvals/${id}/approve`, as("admin"));
    expect([own.status, own.body.error.message]).toStrictEqual([403, expect.stringMatching(/sam requested/)]);
    const ownReject = await call(f, "POST", `/approvals/${id}/reject`, as("admin"));
    expect(ownReject.status).toBe(403);
    for (const role of ["reader", "operator", "contributor"] as const) {
      expect((await call(f, "POST", `/approvals/${id}/approve`, as(role))).status, role).toBe(403);
      expect((await call(f, "POST", `/approvals/${id}/reject`, as(role))).status, role).toBe(403);
    }
    const [request] = (await call(f, "GET", "/approvals", as("reader"))).body.items;
    expect(request).toMatchObject({ id, state: "pending" });
    expect((await call(f, "GET", "/vault/settings", as("reader"))).body.softDeleteEnabled).toBe(true);
    expect(await audited("approval.approve", id)).toEqual(
      expect.arrayContaining(["sam:refused", "rita:refused", "otto:refused", "carl:refused"]),
    );
  });

  it("refuses a principal the requester made (create a principal, then self-approve through it)", async () => {
    // Sam has a second security admin made, with Alice's approval, then asks for a critical change
    // and tries to approve it with the principal he made.
    const sam = f.owner.as({ name: "sam", roles: [Role.SecurityAdmin] });
    const ask = await sam.addPrincipal("sock", [Role.SecurityAdmin]).catch((e: unknown) => e);
    expect(ask).toBeInstanceOf(ApprovalRequiredError);
    const addId = (ask as ApprovalRequiredError).requestId;
    expect((await call(f, "POST", `/approvals/${addId}/approve`, as("admin2"))).status).toBe(200);
    const sock = (await sam.addPrincipal("sock", [Role.SecurityAdmin], { approvalId: addId })).token!;
    const soft = await call(f, "PUT", "/vault/soft-delete", { ...as("admin"), body: { enabled: false } });
    const id = soft.body.error.approvalRequestId as string;
    const bySock = await call(f, "POST", `/approvals/${id}/approve`, { token: sock });
    expect([bySock.status, bySock.body.error.message]).toStrictEqual([403, expect.stringMatching(/lineage/)]);
    // The request stays pending, and presenting it does not pass.
    expect((await call(f, "GET", "/approvals?state=pending", as("reader"))).body.items[0]).toMatchObject({
      id,
      state: "pending",
    });
    const presented = await call(f, "PUT", "/vault/soft-delete", {
      ...as("admin"),
      body: { enabled: false },
      ...withApproval(id),
    });
    expect(presented.status).toBe(409);
    expect((await call(f, "GET", "/vault/settings", as("reader"))).body.softDeleteEnabled).toBe(true);
  });

  it("answers 404 naming a request that does not exist", async () => {
    const missing = await call(f, "POST", "/approvals/nope/approve", as("admin"));
    expect([missing.status, missing.body.error.message]).toStrictEqual([
      404,
      expect.stringMatching(/approval request nope does not exist/),
    ]);
  });
});

describe("POST /approvals/{id}/reject", () => {
  it("closes the request for good: neither approvable nor usable, and the point stays", async () => {
    const id = await earlyDeleteRequest();
    const rejected = await call(f, "POST", `/approvals/${id}/reject`, as("admin2"));
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ id, state: "rejected", rejecter: "alice" });
    expect(rejected.body).not.toHaveProperty("approver");
    const approveAfter = await call(f, "POST", `/approvals/${id}/approve`, as("admin"));
    expect([approveAfter.status, approveAfter.body.error.message]).toStrictEqual([
      409,
      expect.stringMatching(/already rejected/),
    ]);
    const used = await call(f, "DELETE", `/recovery-points/${points.latest}`, {
      ...as("contributor"),
      ...withApproval(id),
    });
    expect([used.status, used.body.error.message]).toStrictEqual([
      409,
      expect.stringMatching(/rejected by alice/),
    ]);
    expect((await call(f, "GET", `/recovery-points/${points.latest}`, as("reader"))).body.state).toBe(
      "available",
    );
    expect((await call(f, "GET", "/approvals?state=rejected", as("reader"))).body.items).toHaveLength(1);
    expect((await call(f, "GET", "/approvals?state=used", as("reader"))).body.items).toEqual([]);
    expect(await audited("approval.reject", id)).toEqual(["alice:succeeded"]);
  });

  it("decides a request once when one admin approves and another rejects at the same time", async () => {
    const id = await earlyDeleteRequest();
    const [a, r] = await Promise.all([
      call(f, "POST", `/approvals/${id}/approve`, as("admin")),
      call(f, "POST", `/approvals/${id}/reject`, as("admin2")),
    ]);
    expect([a.status, r.status].sort()).toEqual([200, 409]);
    const [stored] = (await call(f, "GET", "/approvals", as("reader"))).body.items;
    expect(stored.state).toBe(a.status === 200 ? "approved" : "rejected");
  });
});

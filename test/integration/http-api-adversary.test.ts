import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  call,
  DAILY,
  type HttpFixture,
  type Seeded,
  seed,
  startHttpFixture,
} from "../helpers/http-api-fixture.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let f: HttpFixture;
let points: Seeded;

beforeEach(async () => {
  f = await startHttpFixture();
  points = await seed(f);
  await f.owner.createPolicy({
    ...DAILY,
    name: "short",
    retention: { daily: { days: 7 } },
    snapshotRetentionDays: 1,
  });
});

afterEach(() => f.close());

const as = (role: keyof HttpFixture["tokens"]) => ({ token: f.tokens[role] });

// The same moves as the vault-level adversarial tests, through the HTTP front door.
describe("shortening retention over HTTP, unlocked", () => {
  it("POST /protected-items moving the disk to a shorter policy answers 428 until a security admin approves", async () => {
    const move = (approvalId?: string) =>
      call(f, "POST", "/protected-items", {
        ...as("contributor"),
        body: { disk: "web", source: f.image, policy: "short" },
        ...(approvalId ? { headers: { "x-approval-id": approvalId } } : {}),
      });
    const first = await move();
    expect([first.status, first.body.error.code]).toStrictEqual([428, "APPROVAL_REQUIRED"]);
    const requestId = first.body.error.approvalRequestId as string;
    expect((await call(f, "GET", "/protected-items/web", as("reader"))).body.policy).toBe("daily");
    await f.owner.as({ name: "sam", roles: ["security-admin"] }).approve(requestId);
    const approved = await move(requestId);
    expect([approved.status, approved.body.policy]).toStrictEqual([200, "short"]);
  });
});

describe("shortening retention over HTTP, on a locked vault", () => {
  beforeEach(async () => {
    await f.owner.setLock("enabled");
    await f.owner.setLock("locked");
  });

  it("DELETE /protected-items then DELETE /recovery-points: the point stays", async () => {
    const stopped = await call(f, "DELETE", "/protected-items/web", as("contributor"));
    expect([stopped.status, stopped.body.protected]).toStrictEqual([200, false]);
    const deleted = await call(f, "DELETE", `/recovery-points/${points.latest}`, as("contributor"));
    expect([deleted.status, deleted.body.error.code]).toStrictEqual([403, "ACCESS_DENIED"]);
    expect(deleted.body.error.message).toMatch(/vault lock \(locked\) forbids deleting/);
    const point = await call(f, "GET", `/recovery-points/${points.latest}`, as("reader"));
    expect(point.body.state).toBe("available");
  });

  it("POST /protected-items moving the disk to a shorter policy is refused, and so is deleting with unprotect", async () => {
    const moved = await call(f, "POST", "/protected-items", {
      ...as("contributor"),
      body: { disk: "web", source: f.image, policy: "short" },
    });
    expect(moved.status).toBe(403);
    const item = await call(f, "GET", "/protected-items/web", as("reader"));
    expect(item.body.policy).toBe("daily");
    const wiped = await call(f, "DELETE", "/protected-items/web?deletePoints=true", as("contributor"));
    expect(wiped.status).toBe(403);
    const list = await call(f, "GET", "/recovery-points?disk=web", as("reader"));
    expect(list.body.items.map((p: { state: string }) => p.state)).toStrictEqual(["available", "available"]);
  });
});

import { afterEach, beforeEach, describe, expect, it } from "vitest";
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

describe("the caller and the vault's settings over HTTP", () => {
  it("GET /me names the caller and its roles", async () => {
    expect((await call(f, "GET", "/me", as("reader"))).body).toStrictEqual({
      name: "rita",
      roles: ["reader"],
    });
    expect((await call(f, "GET", "/me", as("admin"))).body).toStrictEqual({
      name: "sam",
      roles: ["security-admin"],
    });
  });

  it("GET /principals lists names and roles, never a token or its hash", async () => {
    const listed = await call(f, "GET", "/principals", as("reader"));
    expect(listed.body.items.map((p: { name: string }) => p.name).sort()).toEqual([
      "alice",
      "carl",
      "otto",
      "rita",
      "sam",
    ]);
    expect(JSON.stringify(listed.body)).not.toMatch(/token|hash/i);
    for (const token of Object.values(f.tokens)) expect(JSON.stringify(listed.body)).not.toContain(token);
  });

  it("previews the lock, then enables it: only a security admin, and the preview names the retained points", async () => {
    const preview = await call(f, "GET", "/vault/lock-preview", as("reader"));
    expect(preview.body.state).toBe("unlocked");
    expect(preview.body.points.map((p: { id: string }) => p.id)).toEqual(
      expect.arrayContaining([points.first, points.latest]),
    );
    expect(preview.body.bytesCommitted).toBeGreaterThan(0);
    const byContributor = await call(f, "PUT", "/vault/lock", {
      ...as("contributor"),
      body: { state: "enabled" },
    });
    expect(byContributor.status).toBe(403);
    const skipped = await call(f, "PUT", "/vault/lock", { ...as("admin"), body: { state: "locked" } });
    expect([skipped.status, skipped.body.error.message]).toStrictEqual([
      409,
      expect.stringMatching(/preview/),
    ]);
    const enabled = await call(f, "PUT", "/vault/lock", { ...as("admin"), body: { state: "enabled" } });
    expect([enabled.status, enabled.body.lock]).toStrictEqual([200, "enabled"]);
    expect((await call(f, "GET", "/vault/settings", as("reader"))).body.lock).toBe("enabled");
  });

  it("lengthens the soft-delete period at once, asks approval to shorten it, and refuses bad input", async () => {
    const longer = await call(f, "PUT", "/vault/soft-delete", { ...as("admin"), body: { days: 30 } });
    expect([longer.status, longer.body.softDeleteDays]).toStrictEqual([200, 30]);
    const shorter = await call(f, "PUT", "/vault/soft-delete", { ...as("admin"), body: { days: 20 } });
    expect([shorter.status, shorter.body.error.code]).toStrictEqual([428, "APPROVAL_REQUIRED"]);
    const tooShort = await call(f, "PUT", "/vault/soft-delete", { ...as("admin"), body: { days: 3 } });
    expect([tooShort.status, tooShort.body.error.message]).toStrictEqual([
      400,
      expect.stringMatching(/days/),
    ]);
    const empty = await call(f, "PUT", "/vault/soft-delete", { ...as("admin"), body: {} });
    expect(empty.status).toBe(400);
    expect((await call(f, "GET", "/vault/settings", as("reader"))).body.softDeleteDays).toBe(30);
  });
});

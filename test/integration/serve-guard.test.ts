import { readFile, stat } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeServeToken } from "../../lib/app/http/serve-token.ts";
import { SPEC } from "../../lib/app/http/spec.ts";
import { localVaultPaths } from "../../lib/compose/local.ts";
import { erasePrincipal, writePrincipal } from "../helpers/raw-principals.ts";
import { owner, rawRequest, type ServeFixture, startServeFixture } from "../helpers/serve-fixture.ts";

let f: ServeFixture;
beforeAll(async () => {
  f = await startServeFixture();
});
afterAll(async () => {
  await f.close();
});

const POLICY = {
  name: "daily",
  schedule: { kind: "daily", times: ["01:00"] },
  timeZone: "UTC",
  retention: { daily: { days: 30 } },
  snapshotRetentionDays: 2,
};

describe("serve as a local attack surface: the transport", () => {
  it("refuses a body that is not JSON with 415, before reading it (a text/plain form post from a page)", async () => {
    const before = (await owner(f, "GET", "/policies")).body;
    const r = await rawRequest(f.port, "POST", "/policies", {
      headers: { authorization: `Bearer ${f.token}`, "content-type": "text/plain" },
      body: JSON.stringify(POLICY),
    });
    expect(r.status).toBe(415);
    expect(r.body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    const form = await rawRequest(f.port, "POST", "/policies", {
      headers: { authorization: `Bearer ${f.token}`, "content-type": "application/x-www-form-urlencoded" },
      body: "name=daily",
    });
    expect(form.status).toBe(415);
    const untyped = await rawRequest(f.port, "POST", "/policies", {
      headers: { authorization: `Bearer ${f.token}` },
      body: JSON.stringify(POLICY),
    });
    expect(untyped.status).toBe(415);
    expect((await owner(f, "GET", "/policies")).body).toEqual(before);
    // JSON with a charset is JSON.
    const ok = await rawRequest(f.port, "POST", "/policies", {
      headers: { authorization: `Bearer ${f.token}`, "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify(POLICY),
    });
    expect(ok.status, ok.text).toBe(201);
  });

  it("refuses a Host header that names another server with 421 (DNS rebinding)", async () => {
    for (const host of [
      `attacker.example:${f.port}`,
      `127.0.0.1.attacker.example:${f.port}`,
      "localhost:1",
    ]) {
      const r = await rawRequest(f.port, "GET", "/jobs", {
        headers: { host, authorization: `Bearer ${f.token}` },
      });
      expect(r.status, host).toBe(421);
      expect(r.body.error.code).toBe("MISDIRECTED_REQUEST");
    }
    for (const host of [
      `localhost:${f.port}`,
      `127.0.0.1:${f.port}`,
      `[::1]:${f.port}`,
      `LOCALHOST.:${f.port}`,
    ]) {
      const r = await rawRequest(f.port, "GET", "/jobs", {
        headers: { host, authorization: `Bearer ${f.token}` },
      });
      expect(r.status, host).toBe(200);
    }
  });

  it("refuses a request from another origin's page with 403, and answers no preflight", async () => {
    for (const origin of [
      "http://attacker.example",
      "null",
      `https://localhost:${f.port}`,
      "http://localhost:1",
    ]) {
      const r = await rawRequest(f.port, "GET", "/jobs", {
        headers: { origin, authorization: `Bearer ${f.token}` },
      });
      expect(r.status, origin).toBe(403);
      expect(r.body.error.code).toBe("FOREIGN_ORIGIN");
    }
    const same = await rawRequest(f.port, "GET", "/jobs", {
      headers: { origin: `http://localhost:${f.port}`, authorization: `Bearer ${f.token}` },
    });
    expect(same.status).toBe(200);
    const preflight = await rawRequest(f.port, "OPTIONS", "/restores", {
      headers: {
        origin: `http://localhost:${f.port}`,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    expect(preflight.status).toBeGreaterThanOrEqual(400);
    expect(Object.keys(preflight.headers).filter((h) => h.startsWith("access-control-"))).toEqual([]);
  });

  it("answers 401 with a Bearer challenge without the server's token, or with a wrong one", async () => {
    const none = await rawRequest(f.port, "GET", "/recovery-points");
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(none.body.error.message).toMatch(/serve-token/);
    expect(none.body.error.message).not.toContain(f.root);
    const wrong = await owner(f, "GET", "/recovery-points", undefined, `${f.token}x`);
    expect(wrong.status).toBe(401);
    const scheme = await rawRequest(f.port, "GET", "/recovery-points", {
      headers: { authorization: "Basic eDp5" },
    });
    expect(scheme.status).toBe(401);
    expect((await owner(f, "GET", "/recovery-points")).status).toBe(200);
  });

  it("keeps the token in a 0600 file that each start replaces, the old token then invalid", async () => {
    expect((await stat(f.tokenFile)).mode & 0o777).toBe(0o600);
    expect((await readFile(f.tokenFile, "utf8")).trim()).toBe(f.token);
    const next = await writeServeToken(`${f.tokenFile}-next`);
    expect(next).not.toBe(f.token);
    expect(next).toMatch(/^bvs_[A-Za-z0-9_-]{43}$/);
  });

  it("serves its OpenAPI document at /openapi.json without a token, but only to its own Host", async () => {
    const r = await rawRequest(f.port, "GET", "/openapi.json");
    expect(r.status).toBe(200);
    expect(r.body.paths).toEqual(
      expect.objectContaining(Object.fromEntries(Object.keys(SPEC.paths).map((p) => [p, expect.anything()]))),
    );
    expect(r.body.components.securitySchemes.bearer.scheme).toBe("bearer");
    // Its rules are this server's: a vault that is not on AWS restores to files only, and the
    // time zones are the ones this server knows.
    const kinds = r.body.components.schemas.RestoreTarget.oneOf.map(
      (v: { properties: { kind: { const: string } } }) => v.properties.kind.const,
    );
    expect(kinds).toEqual(["file"]);
    expect(r.body.components.schemas.TimeZone.enum).toContain("Europe/Berlin");
    const foreign = await rawRequest(f.port, "GET", "/openapi.json", {
      headers: { host: "attacker.example" },
    });
    expect(foreign.status).toBe(421);
  });

  it("stops taking the server's token once the vault has principals: only theirs work", async () => {
    const paths = localVaultPaths(f.dir);
    const token = await writePrincipal(paths.principals, "rita", ["reader"]);
    try {
      expect((await owner(f, "GET", "/jobs")).status).toBe(401);
      expect((await owner(f, "GET", "/jobs", undefined, token)).status).toBe(200);
      expect((await rawRequest(f.port, "GET", "/jobs")).status).toBe(401);
    } finally {
      await erasePrincipal(paths.principals, "rita");
    }
    expect((await owner(f, "GET", "/jobs")).status).toBe(200);
  });
});

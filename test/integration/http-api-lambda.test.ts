import type { Context } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AppContext } from "../../lib/app/app-context.ts";
import type { Vault } from "../../lib/vault.ts";
import type { HttpFixture } from "../helpers/http-api-fixture.ts";
import { memoryPrincipalStore } from "../helpers/memory-principals.ts";

process.env.BLOCKVAULT_WORKERS = "1";

/** The app functions/runtime.ts would build from AWS; here the fixture's embedded one. */
const current: { app?: AppContext } = {};
vi.mock("../../functions/runtime.ts", () => ({ cloudApp: async () => current.app }));

let f: HttpFixture;
let fixture: typeof import("../helpers/http-api-fixture.ts");
/** The fixture's vault with principals of IAM identities, as on AWS (none yet). */
let cloudVault: Vault;

// functions/api.ts reads BLOCKVAULT_PRINCIPALS once per module instance, so each test loads the
// modules afresh: the fixture's too, so that the vault it builds and the handler share one set of
// modules (and error classes) even where the vault loads an operation's module on first use.
beforeEach(async () => {
  vi.resetModules();
  fixture = await import("../helpers/http-api-fixture.ts");
  f = await fixture.startHttpFixture();
  await fixture.seed(f);
  const { Vault: VaultClass } = await import("../../lib/vault.ts");
  cloudVault = await VaultClass.open({ ...f.owner.ctx.deps, principals: memoryPrincipalStore() });
  current.app = { ...f.app, vault: async () => cloudVault };
});

afterEach(async () => {
  delete process.env.BLOCKVAULT_PRINCIPALS;
  await f.close();
});

async function invoke(caller: string, fresh = false) {
  if (fresh) vi.resetModules();
  const { handler } = await import("../../functions/api.ts");
  return handler(fixture.apiEvent({ rawQueryString: "disk=web" }, caller), {} as Context);
}

describe("functions/api.ts", () => {
  const rita = "arn:aws:iam::123456789012:user/rita";
  const eve = "arn:aws:iam::123456789012:user/eve";

  it("answers as the caller the vault's principals name, which BLOCKVAULT_PRINCIPALS seeds once", async () => {
    process.env.BLOCKVAULT_PRINCIPALS = JSON.stringify({
      [rita]: ["reader"],
      "arn:aws:iam::123456789012:role/security": ["security-admin"],
    });
    const ok = await invoke(rita);
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body!).items).toHaveLength(2);
    expect((await invoke(eve)).statusCode).toBe(403);
    expect((await cloudVault.listPrincipals()).map((p) => [p.name, p.createdBy])).toEqual([
      [rita, "deployment"],
      ["arn:aws:iam::123456789012:role/security", "deployment"],
    ]);
    const entry = (await cloudVault.listAudit({ action: "principal.add" })).at(-1);
    expect(entry).toMatchObject({ principal: "owner", outcome: "succeeded", detail: { by: "deployment" } });
    // A later deployment's parameter does not change principals the vault has: that is critical.
    process.env.BLOCKVAULT_PRINCIPALS = JSON.stringify({ [eve]: ["security-admin"] });
    expect((await invoke(eve, true)).statusCode).toBe(403);
    expect(await cloudVault.listPrincipals()).toHaveLength(2);
  });

  it("denies every caller of a vault without principals: the API is never single-user", async () => {
    expect((await invoke(rita)).statusCode).toBe(403);
  });

  it("answers 500 naming the setting when BLOCKVAULT_PRINCIPALS is broken", async () => {
    process.env.BLOCKVAULT_PRINCIPALS = "{not json";
    const res = await invoke("arn:aws:iam::123456789012:user/rita");
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body!).error.message).toMatch(
      /principals are misconfigured: BLOCKVAULT_PRINCIPALS/,
    );
  });
});

import type { Context } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AppContext } from "../../lib/app/app-context.ts";
import type { HttpFixture } from "../helpers/http-api-fixture.ts";

process.env.BLOCKVAULT_WORKERS = "1";

/** The app functions/runtime.ts would build from AWS; here the fixture's embedded one. */
const current: { app?: AppContext } = {};
vi.mock("../../functions/runtime.ts", () => ({ cloudApp: async () => current.app }));

let f: HttpFixture;
let fixture: typeof import("../helpers/http-api-fixture.ts");

// functions/api.ts reads BLOCKVAULT_PRINCIPALS once per module instance, so each test loads the
// modules afresh: the fixture's too, so that the vault it builds and the handler share one set of
// modules (and error classes) even where the vault loads an operation's module on first use.
beforeEach(async () => {
  vi.resetModules();
  fixture = await import("../helpers/http-api-fixture.ts");
  f = await fixture.startHttpFixture();
  await fixture.seed(f);
  current.app = f.app;
});

afterEach(async () => {
  delete process.env.BLOCKVAULT_PRINCIPALS;
  await f.close();
});

async function invoke(caller: string) {
  const { handler } = await import("../../functions/api.ts");
  return handler(fixture.apiEvent({ rawQueryString: "disk=web" }, caller), {} as Context);
}

describe("functions/api.ts", () => {
  it("answers API Gateway events as the caller BLOCKVAULT_PRINCIPALS maps", async () => {
    process.env.BLOCKVAULT_PRINCIPALS = JSON.stringify({ "arn:aws:iam::123456789012:user/rita": ["reader"] });
    const ok = await invoke("arn:aws:iam::123456789012:user/rita");
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body!).items).toHaveLength(2);
    expect((await invoke("arn:aws:iam::123456789012:user/eve")).statusCode).toBe(403);
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

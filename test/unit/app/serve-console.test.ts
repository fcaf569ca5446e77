import { describe, expect, it } from "vitest";
import type { ConsoleAssets } from "../../../lib/app/console/assets.ts";
import { consoleResponse } from "../../../lib/app/console/serve-console.ts";

const ASSETS: ConsoleAssets = new Map([
  ["index.html", { type: "text/html; charset=utf-8", body: "<!doctype html>" }],
  ["app.js", { type: "text/javascript; charset=utf-8", body: "export {}" }],
  ["app.css", { type: "text/css; charset=utf-8", body: "body{}" }],
]);

describe("the console's files at /console/", () => {
  it("serves index.html at /console/ and each file by name, with a strict content security policy", () => {
    const index = consoleResponse(ASSETS, "GET", "/console/");
    expect([index?.status, index?.body, index?.headers["content-type"]]).toEqual([
      200,
      "<!doctype html>",
      "text/html; charset=utf-8",
    ]);
    expect(index?.headers["content-security-policy"]).toMatch(/default-src 'none'; script-src 'self'/);
    expect(index?.headers["content-security-policy"]).toMatch(/frame-ancestors 'none'/);
    expect(consoleResponse(ASSETS, "HEAD", "/console/app.js")?.headers["content-type"]).toMatch(/javascript/);
  });

  it("redirects /console to /console/, refuses other methods and unknown files, and leaves the API's paths alone", () => {
    const redirect = consoleResponse(ASSETS, "GET", "/console");
    expect([redirect?.status, redirect?.headers.location]).toEqual([308, "/console/"]);
    expect(consoleResponse(ASSETS, "POST", "/console/")?.status).toBe(405);
    expect(consoleResponse(ASSETS, "GET", "/console/../vault/keyring")?.status).toBe(404);
    expect(consoleResponse(ASSETS, "GET", "/console/app.js.map")?.status).toBe(404);
    expect(consoleResponse(ASSETS, "GET", "/consoles")).toBeUndefined();
    expect(consoleResponse(ASSETS, "GET", "/jobs")).toBeUndefined();
  });

  it("says how to build the console when its bundle is missing", () => {
    const missing = consoleResponse(undefined, "GET", "/console/");
    expect([missing?.status, missing?.body]).toEqual([503, expect.stringMatching(/npm run build:console/)]);
  });
});

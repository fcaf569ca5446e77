import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { API_ROUTES } from "../../../lib/app/http/routes.ts";
import { resolveParameter, SPEC, specOperations } from "../../../lib/app/http/spec.ts";
import { compileValidators } from "../../../lib/app/http/validate.ts";

/** Every `$ref` in a JSON value. */
function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string") out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

/** What a local `#/a/b` reference points at, or undefined. */
function target(ref: string): unknown {
  let at: unknown = SPEC;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    at = (at as Record<string, unknown> | undefined)?.[key];
  }
  return at;
}

const operations = specOperations();
const key = (method: string, path: string) => `${method} ${path}`;

describe("the OpenAPI spec (api/openapi.json)", () => {
  it("is an OpenAPI 3.1 document with a title and a version", () => {
    expect(SPEC.openapi).toMatch(/^3\.1\.\d+$/);
    const info = (SPEC as unknown as { info: { title?: string; version?: string } }).info;
    expect(info.title).toBeTruthy();
    expect(info.version).toBeTruthy();
    expect(operations.length).toBeGreaterThan(0);
  });

  it("gives every operation a unique operationId and responses with a success and an error", () => {
    const ids = operations.map((o) => o.operation.operationId);
    expect(ids.every((id) => typeof id === "string" && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { method, path, operation } of operations) {
      const statuses = Object.keys(operation.responses ?? {});
      expect(
        statuses.every((s) => /^[1-5]\d\d$/.test(s)),
        key(method, path),
      ).toBe(true);
      expect(
        statuses.some((s) => s.startsWith("2")),
        key(method, path),
      ).toBe(true);
      expect(
        statuses.some((s) => s.startsWith("4") || s.startsWith("5")),
        key(method, path),
      ).toBe(true);
    }
  });

  it("declares exactly the path parameters each template names, as required", () => {
    for (const { method, path, operation } of operations) {
      const named = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (operation.parameters ?? [])
        .map((p) => resolveParameter(p))
        .filter((p) => p.in === "path");
      expect(declared.map((p) => p.name).sort(), key(method, path)).toEqual(named);
      expect(declared.every((p) => p.required === true)).toBe(true);
    }
  });

  it("has no dangling $ref", () => {
    const all = refs(SPEC);
    expect(all.length).toBeGreaterThan(0);
    for (const ref of all) {
      expect(ref.startsWith("#/"), ref).toBe(true);
      expect(target(ref), ref).toBeDefined();
    }
  });

  it("compiles, every schema included, under ajv's strict mode", () => {
    expect(compileValidators().size).toBe(operations.length);
  });

  it("has every route of the router, and the router every operation of the spec", () => {
    const routed = API_ROUTES.map((r) => `${key(r.method, r.template)} ${r.operationId}`).sort();
    const specified = operations.map((o) => `${key(o.method, o.path)} ${o.operation.operationId}`).sort();
    expect(routed).toEqual(specified);
  });

  it("is what serverless.yml routes to the api function", async () => {
    const yml = await readFile(new URL("../../../serverless.yml", import.meta.url), "utf8");
    const events = [...yml.matchAll(/httpApi:\s*\{\s*method:\s*(\w+),\s*path:\s*"?([^",\s]+)"?/g)].map((m) =>
      key(m[1]!.toUpperCase(), m[2]!),
    );
    // The web console's files are served on two routes of their own, outside the API's document.
    const consoleRoutes = ["GET /console", "GET /console/{proxy+}"];
    expect(events.filter((e) => consoleRoutes.includes(e))).toEqual(consoleRoutes);
    expect(events.filter((e) => !consoleRoutes.includes(e)).sort()).toEqual(
      operations.map((o) => key(o.method, o.path)).sort(),
    );
  });
});

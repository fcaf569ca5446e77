import { describe, expect, it } from "vitest";
import { type ImportEdge, importsOf, isIn, typeScriptFiles, violations } from "./import-graph.ts";

const SCANNED = ["lib", "functions"] as const;

/** Whether the edge is a package import (not a file of the project). */
const isPackage = (edge: ImportEdge) => edge.to === undefined;
const inAny = (file: string | undefined, areas: readonly string[]) =>
  file !== undefined && areas.some((area) => isIn(file, area));

/** What the engine may build on: the ports and the plain types and helpers under them. */
const ENGINE_MAY_IMPORT = ["lib/engine", "lib/ports", "lib/model.ts", "lib/errors.ts", "lib/util"];
/** What sits above the adapters: they are handed to it, never the other way round. */
const ABOVE_ADAPTERS = [
  "lib/vault.ts",
  "lib/app",
  "lib/cli",
  "lib/compose",
  "lib/decorators",
  "lib/engine",
] as const;

describe("the import graph", () => {
  it("is read from every file: the parser finds static, type-only, re-exported and lazy imports", () => {
    const edges = importsOf("lib/compose/cli.ts").map((e) => e.specifier);
    expect(edges).toContain("../adapters/local/principals.ts"); // import { … } from
    expect(edges).toContain("../ports/clock.ts"); // import type { … } from
    expect(edges).toContain("./aws.ts"); // await import(…)
    expect(importsOf("lib/compose/local.ts").map((e) => e.to)).toContain("lib/adapters/local/vault-paths.ts");
    expect(typeScriptFiles("lib").length).toBeGreaterThan(100);
  });

  it("keeps the engine on ports, model, errors and util (and packages other than the AWS SDK)", () => {
    const rule = (edge: ImportEdge) => (isPackage(edge) ? true : inAny(edge.to, ENGINE_MAY_IMPORT));
    expect(violations(["lib/engine"], rule)).toEqual([]);
  });

  it("keeps the adapters below the vault: no vault, app, CLI, composition root, decorator or engine", () => {
    const rule = (edge: ImportEdge) => !inAny(edge.to, ABOVE_ADAPTERS);
    expect(violations(["lib/adapters"], rule)).toEqual([]);
  });

  it("keeps the application, rules and the vault off the adapters and the composition roots", () => {
    const rule = (edge: ImportEdge) => !inAny(edge.to, ["lib/adapters", "lib/compose"]);
    const only = (file: string) => inAny(file, ["lib/app", "lib/rules", "lib/policy", "lib/vault.ts"]);
    expect(violations(["lib"], rule, only)).toEqual([]);
  });

  it("keeps `aws-lambda` types in functions/ and the AWS adapters", () => {
    const rule = (edge: ImportEdge) =>
      edge.specifier !== "aws-lambda" || inAny(edge.from, ["functions", "lib/adapters/aws"]);
    expect(violations(SCANNED, rule)).toEqual([]);
  });

  it("keeps the AWS SDK in the AWS adapters", () => {
    const rule = (edge: ImportEdge) =>
      !/^@(aws-sdk|smithy)\//.test(edge.specifier) || isIn(edge.from, "lib/adapters/aws");
    expect(violations(SCANNED, rule)).toEqual([]);
  });
});

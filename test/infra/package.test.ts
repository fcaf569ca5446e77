import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  cfnLint,
  ensureCfnLint,
  type PackagedStage,
  packagedStages,
  STAGES,
  type Stage,
  templatePath,
} from "./package-fixture.ts";
import type { Template } from "./template.ts";

/**
 * `serverless package` for the cloud stage (dev) and the LocalStack stage (local), offline, and
 * cfn-lint on what it generates: the same checks CI runs before anyone deploys.
 */
describe("serverless package", () => {
  let packaged: Record<Stage, PackagedStage>;

  beforeAll(async () => {
    packaged = await packagedStages();
    ensureCfnLint();
  }, 900_000);

  describe.each(STAGES)("--stage %s", (stage) => {
    const template = (): Template =>
      JSON.parse(readFileSync(templatePath(packaged[stage]), "utf8")) as Template;

    it("succeeds offline and writes the CloudFormation template and one bundle per function", () => {
      const result = packaged[stage];
      expect(result.status, result.output).toBe(0);
      expect(existsSync(templatePath(result)), result.output).toBe(true);
      for (const fn of ["scheduler", "snapshot", "lifecycle", "api"]) {
        const zip = path.join(result.dir, `${fn}.zip`);
        expect(existsSync(zip), `${fn}.zip`).toBe(true);
        // A zip's central directory stores entry names uncompressed: the ESM bundle is inside.
        expect(readFileSync(zip).includes(`functions/${fn}.mjs`), `${fn}.zip holds functions/${fn}.mjs`).toBe(
          true,
        );
      }
      // The web console is built beside the API handler, and only there.
      for (const file of ["index.html", "app.js", "app.css"]) {
        const name = `functions/console/${file}`;
        expect(readFileSync(path.join(result.dir, "api.zip")).includes(name), `api.zip holds ${name}`).toBe(
          true,
        );
        expect(
          readFileSync(path.join(result.dir, "snapshot.zip")).includes(name),
          `snapshot.zip: ${name}`,
        ).toBe(false);
      }
      console.log(`serverless package --stage ${stage}: ${result.seconds.toFixed(1)} s`);
    });

    it("passes cfn-lint", async () => {
      const lint = await cfnLint(templatePath(packaged[stage]));
      expect(lint.output.trim()).toBe("");
      expect(lint.status).toBe(0);
    }, 300_000);

    it("runs every function on nodejs24.x, arm64, as a bundled ES module", () => {
      const functions = Object.entries(template().Resources).filter(
        ([, r]) => r.Type === "AWS::Lambda::Function",
      );
      expect(functions.map(([id]) => id).sort()).toEqual([
        "ApiLambdaFunction",
        "CommitLambdaFunction",
        "LifecycleLambdaFunction",
        "SchedulerLambdaFunction",
        "SnapshotLambdaFunction",
      ]);
      for (const [id, fn] of functions) {
        expect(fn.Properties?.Runtime, id).toBe("nodejs24.x");
        expect(fn.Properties?.Architectures, id).toEqual(["arm64"]);
        expect(fn.Properties?.Handler, id).toMatch(
          /^functions\/(scheduler|snapshot|commit|lifecycle|api)\.handler$/,
        );
      }
    });

    it(`is named for the stage and keeps the vault's data ${stage === "local" ? "only until removed" : "on removal"}`, () => {
      const resources = template().Resources;
      const fn = resources.SnapshotLambdaFunction?.Properties?.FunctionName;
      expect(fn).toBe(`blockvault-${stage}-snapshot`);
      const policy = stage === "local" ? "Delete" : "Retain";
      for (const id of ["VaultBucket", "CatalogTable", "VaultKey"]) {
        expect(resources[id]?.DeletionPolicy, id).toBe(policy);
        expect(resources[id]?.UpdateReplacePolicy, id).toBe(policy);
      }
      expect(resources.CatalogTable?.Properties?.DeletionProtectionEnabled).toBe(stage !== "local");
    });
  });
});

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { cliJson, expectRefused } from "../helpers/cli-fixture.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

let root: string;
let vault: string;
let policyFile: string;

const policy = (cron: string) => ({
  name: "weekdays",
  schedule: { cron },
  timeZone: "America/New_York",
  retention: { daily: { days: 14 }, weekly: { weeks: 8, day: "fri" } },
  snapshotRetentionDays: 2,
});

beforeEach(async () => {
  root = await tempDir("cli-cron");
  vault = join(root, "vault");
  policyFile = join(root, "policy.json");
  await cliJson(["init", "--vault", vault, "--name", "cli-cron"]);
});

afterEach(() => removeDir(root));

describe("cron policies through the CLI", () => {
  it("creates one from a file and lists its expression", async () => {
    await writeFile(policyFile, JSON.stringify(policy("0 2 * * 1-5")));
    const created = (await cliJson(["policy", "create", "--file", policyFile, "--vault", vault])) as {
      definition: { schedule: unknown };
    };
    expect(created.definition.schedule).toEqual({ cron: "0 2 * * 1-5" });
    const list = await runCli(["policy", "list", "--vault", vault]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/weekdays\s+cron 0 2 \* \* 1-5\s+America\/New_York\s+1/);
  });

  it("refuses a bad expression with one line naming the field and the expression, exit 2", async () => {
    await writeFile(policyFile, JSON.stringify(policy("0 25 * * 1-5")));
    const run = await expectRefused(vault, ["policy", "create", "--file", policyFile, "--vault", vault], {
      code: 2,
      message: /^blockvault: schedule\.cron "0 25 \* \* 1-5" is not a valid cron expression: .*hour/,
    });
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    await writeFile(policyFile, JSON.stringify(policy("0 0 2 * * 1-5")));
    await expectRefused(vault, ["policy", "create", "--file", policyFile, "--vault", vault], {
      code: 2,
      message: /schedule\.cron "0 0 2 \* \* 1-5" must have 5 fields .*seconds and years are not supported/,
    });
  });
});

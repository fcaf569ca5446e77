import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliRun, runCliProcess } from "../helpers/cli.ts";
import { type CliVault, makeCliVault } from "../helpers/cli-fixture.ts";
import { removeDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let fx: CliVault;
let file: string;
beforeAll(async () => {
  fx = await makeCliVault();
  file = join(fx.root, "a-file");
  await writeFile(file, "not a vault\n");
});
afterAll(async () => {
  if (fx) await removeDir(fx.root);
});

const cli = (...args: string[]) => runCliProcess(args, fx.root);

/** One `blockvault:` line on stderr matching `message`, nothing on stdout, exit `code`. */
function expectOneLine(run: CliRun, code: number, message: RegExp): void {
  expect(run.stderr.trimEnd().split("\n"), run.stderr).toHaveLength(1);
  expect(run.stderr).toMatch(/^blockvault: /);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.stderr).toMatch(message);
  expect(run.code, run.stderr).toBe(code);
  expect(run.stdout).toBe("");
}

describe("bad input is one line naming the thing, with a non-zero exit", () => {
  it("a --vault that is a regular file, or under one, for init and for any other command", () => {
    expectOneLine(
      cli("list", "--vault", file),
      2,
      new RegExp(`--vault ${file} is a file, not a vault directory`),
    );
    expectOneLine(cli("init", "--vault", file), 2, /is a file, not a vault directory/);
    expectOneLine(
      cli("init", "--vault", join(file, "sub")),
      2,
      /--vault .*a-file\/sub is not a directory: a part of its path is a file/,
    );
  });

  it("serve --port out of range or not a number", () => {
    for (const port of ["99999", "http"]) {
      expectOneLine(
        cli("serve", "--vault", fx.vault, "--port", port),
        2,
        new RegExp(`--port must be an integer from 1 to 65535 \\(0: any free port\\), got "${port}"`),
      );
    }
  });

  it("a negative --offset is the option's own error, not a parser puzzle", async () => {
    const to = join(fx.root, "neg.img");
    expectOneLine(
      cli("restore", fx.pointId, "--to", to, "--offset", "-1", "--length", "5", "--vault", fx.vault),
      2,
      /--offset must be a non-negative integer, got "-1"/,
    );
    expect(await readdir(fx.root)).not.toContain("neg.img");
  });

  it("a value left out, empty, given to a flag, or an option given twice", () => {
    expectOneLine(
      cli("restore", fx.pointId, "--to", "--force", "--vault", fx.vault),
      2,
      /--to needs a value: --to PATH/,
    );
    expectOneLine(cli("list", "--disk"), 2, /--disk needs a value: --disk NAME/);
    expectOneLine(cli("list", "--vault="), 2, /--vault needs a value: --vault DIR/);
    expectOneLine(cli("check", "--read-data=yes", "--vault", fx.vault), 2, /--read-data takes no value/);
    expectOneLine(
      cli("list", "--disk", "a", "--disk", "b", "--vault", fx.vault),
      2,
      /--disk is given more than once/,
    );
  });

  it("a value outside an option's choices, or below its least", () => {
    expectOneLine(
      cli("jobs", "--status", "done", "--vault", fx.vault),
      2,
      /--status must be one of queued, running, completed, failed, abandoned, got "done"/,
    );
    expectOneLine(cli("list", "--backend", "gcp"), 2, /--backend must be one of local, aws, got "gcp"/);
    expectOneLine(cli("demo", "--size-mib", "0"), 2, /--size-mib must be at least 1, got "0"/);
    expectOneLine(
      cli("audit", "--limit", "1e3", "--vault", fx.vault),
      2,
      /--limit must be a non-negative integer, got "1e3"/,
    );
  });

  it("a missing policy file, or a directory, names the file", () => {
    const missing = join(fx.root, "no-policy.json");
    expectOneLine(
      cli("policy", "create", "--file", missing, "--vault", fx.vault),
      3,
      new RegExp(`policy file ${missing} does not exist`),
    );
    expectOneLine(
      cli("policy", "create", "--file", fx.root, "--vault", fx.vault),
      2,
      new RegExp(`policy file ${fx.root} is a directory`),
    );
  });
});

describe("policy files", () => {
  it("accepts a UTF-8 byte-order mark before the JSON", async () => {
    const path = join(fx.root, "bom-policy.json");
    const policy = {
      name: "bom",
      schedule: { kind: "daily", times: ["01:00"] },
      timeZone: "UTC",
      retention: { daily: { days: 7 } },
      snapshotRetentionDays: 5,
    };
    await writeFile(path, `\uFEFF${JSON.stringify(policy)}`);
    const run = cli("policy", "create", "--file", path, "--vault", fx.vault, "--json");
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ name: "bom", version: 1 });
  });
});

describe("keyrings", () => {
  it("a keyring that is a directory is a KEY error naming it", async () => {
    const dir = join(fx.root, "keyring-dir");
    await mkdir(dir);
    expectOneLine(
      cli("list", "--vault", fx.vault, "--keyring", dir),
      6,
      /keyring .*keyring-dir is a directory/,
    );
  });
});

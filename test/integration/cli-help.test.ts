import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GLOBAL_OPTIONS } from "../../lib/cli/global-options.ts";
import { COMMANDS } from "../../lib/cli/table/index.ts";
import { runCliProcess } from "../helpers/cli.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

let root: string;
beforeAll(async () => {
  root = await tempDir("cli-help");
});
afterAll(async () => {
  await removeDir(root);
});

const cli = (...args: string[]) => runCliProcess(args, root);

describe("--version", () => {
  it("prints the package's version, as --version and -V", async () => {
    const { version } = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8"));
    for (const flag of ["--version", "-V"]) {
      const run = cli(flag);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe(`blockvault ${version}`);
    }
  });
});

describe("--help", () => {
  it("lists every command with its one-line summary, the global options and the exit codes", () => {
    const run = cli("--help");
    expect(run.code).toBe(0);
    for (const [name, command] of Object.entries(COMMANDS)) {
      expect(run.stdout, name).toMatch(new RegExp(`^  ${name} +${escapeRegExp(command.summary)}$`, "m"));
    }
    for (const name of [...Object.keys(GLOBAL_OPTIONS), "version"]) expect(run.stdout).toContain(`--${name}`);
    expect(run.stdout).toMatch(/^Exit codes:$/m);
    expect(run.stdout).toMatch(/^ {2}3 +not found/m);
  });

  it("without a command, is printed with exit code 2", () => {
    const run = cli();
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/^Usage: blockvault <command>/m);
  });

  it("of each command lists its forms, each of its options with type and default, and the exit codes", () => {
    for (const [name, command] of Object.entries(COMMANDS)) {
      const run = cli(name, "--help");
      expect(run.code, `${name}: ${run.stderr}`).toBe(0);
      expect(run.stdout, name).toMatch(new RegExp(`^Usage: blockvault ${escapeRegExp(name)}\\b`));
      for (const usage of command.usage) expect(run.stdout, name).toContain(`blockvault ${usage}`);
      for (const [option, spec] of Object.entries({ ...command.options, ...GLOBAL_OPTIONS })) {
        const lines = run.stdout.split("\n");
        const spelled = new RegExp(`^ {2}(-\\w, )?--${escapeRegExp(option)}( |$)`);
        const line = lines.findIndex((l) => spelled.test(l));
        expect(line, `${name} --${option}`).toBeGreaterThan(0);
        const described = lines.slice(line, line + 3).join("\n");
        expect(described, `${name} --${option}`).toContain(spec.help);
        expect(described, `${name} --${option}`).toMatch(
          /\((flag|string|integer|path|time|one of [^;]+)( from \d+)?(, repeatable)?; (required|default: [^)]+)\)/,
        );
      }
      expect(run.stdout, name).toMatch(/^Exit codes:\n {2}0 +success/m);
    }
  });

  it("of backup names the image kinds, --json, --progress and the exit codes", () => {
    const run = cli("backup", "--help");
    for (const text of [
      "block device",
      "VHD",
      "s3://BUCKET/KEY",
      "ebs://snap-",
      "--json",
      "--progress MODE",
    ]) {
      expect(run.stdout).toContain(text);
    }
    expect(run.stdout).toMatch(
      /^ {2}--disk NAME +the disk the recovery point belongs to \(required without --vm\)\n +\(string; default: none\)$/m,
    );
    expect(run.stdout).toMatch(/^ {2}7 +source: the image cannot be read/m);
  });

  it("is shown even when the command's required options are missing", () => {
    const run = cli("restore", "--help");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/--offset BYTES/);
  });
});

describe("unknown commands and options", () => {
  it("are refused in one line naming them and pointing at --help, with exit code 2", () => {
    const cases: [string[], RegExp][] = [
      [["list", "--bogus"], /^blockvault: unknown option --bogus \(see blockvault list --help\)$/],
      [["list", "-x"], /^blockvault: unknown option -x \(see blockvault list --help\)$/],
      [["frobnicate"], /^blockvault: unknown command "frobnicate" \(see blockvault --help\)$/],
      [["--frob", "list"], /^blockvault: unknown option --frob before a command \(see blockvault --help\)$/],
    ];
    for (const [args, message] of cases) {
      const run = cli(...args);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr.trimEnd(), args.join(" ")).toMatch(message);
      expect(run.stdout).toBe("");
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

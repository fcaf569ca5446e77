import { describe, expect, it } from "vitest";
import { parseCommandLine } from "../../../lib/cli/parse.ts";
import { OptionKind, type OptionSpec } from "../../../lib/cli/spec.ts";

const SPECS: Record<string, OptionSpec> = {
  to: { kind: OptionKind.Path, arg: "PATH", required: true, help: "where" },
  offset: { kind: OptionKind.Integer, arg: "BYTES", help: "from" },
  count: { kind: OptionKind.Integer, arg: "N", min: 2, help: "how many" },
  force: { kind: OptionKind.Flag, help: "replace" },
  role: { kind: OptionKind.Choice, arg: "ROLE", multiple: true, choices: ["a", "b"], help: "roles" },
  json: { kind: OptionKind.Flag, help: "json" },
};

const parse = (...args: string[]) => parseCommandLine(args, SPECS, "restore");

describe("parseCommandLine", () => {
  it("returns the values and positionals the table allows", () => {
    expect(parse("P", "--to", "out", "--force", "--role", "a", "--role=b", "--offset", "0")).toEqual({
      values: { to: "out", force: true, role: ["a", "b"], offset: "0" },
      positionals: ["P"],
    });
  });

  it("takes a value starting with a dash as the value, for the option to judge", () => {
    expect(() => parse("--to", "x", "--offset", "-1")).toThrow(
      /^--offset must be a non-negative integer, got "-1"$/,
    );
    expect(parse("--to", "-").values.to).toBe("-");
  });

  it.each([
    [["--to", "x", "--nope"], /^unknown option --nope \(see blockvault restore --help\)$/],
    [["--to", "x", "-q"], /^unknown option -q \(see blockvault restore --help\)$/],
    [["--to"], /^--to needs a value: --to PATH$/],
    [["--to", "--force"], /^--to needs a value: --to PATH$/],
    [["--to="], /^--to needs a value: --to PATH$/],
    [["--to", "x", "--force=no"], /^--force takes no value$/],
    [["--to", "x", "--to", "y"], /^--to is given more than once$/],
    [["--to", "x", "--role", "c"], /^--role must be one of a, b, got "c"$/],
    [["--to", "x", "--count", "1"], /^--count must be at least 2, got "1"$/],
    [["--to", "x", "--offset", "4k"], /^--offset must be a non-negative integer, got "4k"$/],
    [["--force"], /^missing --to \(see blockvault restore --help\)$/],
  ])("refuses %j in one line", (args, message) => {
    expect(() => parse(...args)).toThrow(message);
  });
});

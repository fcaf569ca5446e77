import { parseArgs } from "node:util";
import { ValidationError } from "../errors.ts";
import { OptionKind, type OptionSpec, parseArgsOptions } from "./spec.ts";

/** A command line parsed against a command's options. */
export interface ParsedLine {
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly positionals: readonly string[];
}

type Token = NonNullable<ReturnType<typeof parseArgs>["tokens"]>[number];

/**
 * Parses `args` against `specs`, refusing in one line what the table does not allow: an unknown
 * option, a value missing or given to a flag, an option given twice, a value not among its
 * choices, a required option left out. `command` names where to look in the errors.
 *
 * parseArgs runs non-strict and the checks are done here from its tokens: its own strict errors
 * span several lines, and it refuses `--offset -1` as ambiguous where the user plainly meant a
 * (bad) value, which then gets the option's own message.
 */
export function parseCommandLine(
  args: readonly string[],
  specs: Readonly<Record<string, OptionSpec>>,
  command: string,
): ParsedLine {
  const { values, positionals, tokens } = parseArgs({
    args: [...args],
    options: parseArgsOptions(specs),
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    checkOption(token, specs, seen, command);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && values[name] === undefined) {
      throw new ValidationError(`missing --${name} (see blockvault ${command} --help)`);
    }
  }
  return { values: values as ParsedLine["values"], positionals };
}

function checkOption(
  token: Extract<Token, { kind: "option" }>,
  specs: Readonly<Record<string, OptionSpec>>,
  seen: Set<string>,
  command: string,
): void {
  const spec = Object.hasOwn(specs, token.name) ? specs[token.name] : undefined;
  const raw = token.rawName;
  if (!spec) throw new ValidationError(`unknown option ${raw} (see blockvault ${command} --help)`);
  if (seen.has(token.name) && !spec.multiple) throw new ValidationError(`${raw} is given more than once`);
  seen.add(token.name);
  if (spec.kind === OptionKind.Flag) {
    if (token.value !== undefined) throw new ValidationError(`${raw} takes no value`);
    return;
  }
  const value = token.value;
  // parseArgs, non-strict, takes the next argument whatever it is: `--disk --json` is a
  // forgotten value, not a disk named "--json".
  const forgotten =
    value === undefined ||
    (!token.inlineValue && value.startsWith("--") && Object.hasOwn(specs, value.slice(2).split("=")[0]!));
  const placeholder = spec.arg ?? "VALUE";
  if (forgotten || value === "") throw new ValidationError(`${raw} needs a value: ${raw} ${placeholder}`);
  if (spec.choices && !spec.choices.includes(value)) {
    throw new ValidationError(`${raw} must be one of ${spec.choices.join(", ")}, got "${value}"`);
  }
  if (spec.check) spec.check(value);
  else if (spec.kind === OptionKind.Integer) checkInteger(raw, value, spec.min ?? 0);
}

/** A whole number written in digits only (no sign, units or fractions), at least `min`. */
function checkInteger(raw: string, value: string, min: number): void {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new ValidationError(`${raw} must be a non-negative integer, got "${value}"`);
  }
  if (Number(value) < min) throw new ValidationError(`${raw} must be at least ${min}, got "${value}"`);
}

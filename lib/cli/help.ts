import { exitCodeHelp } from "./exit-codes.ts";
import { GLOBAL_OPTIONS } from "./global-options.ts";
import { type CommandSpec, OptionKind, type OptionSpec } from "./spec.ts";

/** Options only `blockvault` itself takes, before any command. */
export const TOP_LEVEL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  version: { kind: OptionKind.Flag, short: "V", help: "print blockvault's version" },
  help: {
    kind: OptionKind.Flag,
    short: "h",
    help: "show this help (blockvault COMMAND --help: a command's own)",
  },
};

/** `blockvault --help`: every command with its summary, the global options, the exit codes. */
export function mainHelp(commands: Readonly<Record<string, CommandSpec>>, version: string): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length)) + 2;
  return [
    `blockvault ${version}: a backup vault for virtual-machine disk images`,
    "",
    "Usage: blockvault <command> [options]",
    "       blockvault <command> --help   the command's forms, options, defaults and exit codes",
    "",
    "Commands:",
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`),
    "",
    "Options:",
    ...optionLines(TOP_LEVEL_OPTIONS),
    ...commonTail(),
  ].join("\n");
}

/** `blockvault NAME --help`: its forms, what it does, each option with type and default. */
export function commandHelp(name: string, command: CommandSpec): string {
  const [first, ...others] = command.usage;
  const own = Object.keys(command.options).length > 0;
  return [
    `Usage: blockvault ${first}`,
    ...others.map((u) => `       blockvault ${u}`),
    "",
    `${name}: ${command.summary}.`,
    ...(command.details?.length ? ["", ...command.details] : []),
    ...(own ? ["", "Options:", ...optionLines(command.options)] : []),
    ...commonTail(),
  ].join("\n");
}

/** What every help text ends with: the options every command takes, and the exit codes. */
function commonTail(): string[] {
  return [
    "",
    "Options for every command:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    "Exit codes:",
    ...exitCodeHelp(),
  ];
}

const COLUMN = 26;

/** Two lines per option: its spelling and meaning, then its type and default. */
function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  return Object.entries(options).flatMap(([name, spec]) => {
    const spelling = `${spec.short ? `-${spec.short}, ` : ""}--${name}${spec.arg ? ` ${spec.arg}` : ""}`;
    const head = `  ${spelling}`;
    const lead = head.length < COLUMN ? head.padEnd(COLUMN) : `${head}\n${" ".repeat(COLUMN)}`;
    return [`${lead}${spec.help}`, `${" ".repeat(COLUMN)}${typeAndDefault(spec)}`];
  });
}

function typeAndDefault(spec: OptionSpec): string {
  const type = spec.kind === OptionKind.Choice ? `one of ${spec.choices?.join(", ")}` : spec.kind;
  const least = spec.min !== undefined ? ` from ${spec.min}` : "";
  const repeat = spec.multiple ? ", repeatable" : "";
  const fallback = spec.required
    ? "required"
    : spec.default !== undefined
      ? `default: ${spec.default}`
      : spec.kind === OptionKind.Flag
        ? "default: off"
        : "default: none";
  return `(${type}${least}${repeat}; ${fallback})`;
}

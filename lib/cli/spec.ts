/**
 * The shape of the CLI's command table. One definition per command drives both the parser
 * (`node:util` parseArgs) and the help text, so the help cannot list a flag the parser refuses
 * or leave out one it takes.
 */
import type { CommandContext } from "./context.ts";

/** What an option's value is, as the help names it; `flag` takes no value. */
export const OptionKind = {
  Flag: "flag",
  String: "string",
  Integer: "integer",
  Path: "path",
  Time: "time",
  Choice: "choice",
} as const;
export type OptionKind = (typeof OptionKind)[keyof typeof OptionKind];

/** One `--name` option. */
export interface OptionSpec {
  readonly kind: OptionKind;
  /** The placeholder of its value in usage and help (`NAME`, `BYTES`). */
  readonly arg?: string;
  readonly short?: string;
  /** May be given several times; the values are collected in order. */
  readonly multiple?: boolean;
  /** The values a `choice` option accepts; anything else is refused before the command runs. */
  readonly choices?: readonly string[];
  /** An integer's least value (default 0). */
  readonly min?: number;
  /**
   * Checks a value where the kind's own check does not say enough (a port's range), throwing a
   * ValidationError naming the option.
   */
  readonly check?: (value: string) => void;
  /** The default, as the help shows it (an option without one is unset when not given). */
  readonly default?: string;
  /** The command refuses to run without it. */
  readonly required?: boolean;
  /** What it does, in one line. */
  readonly help: string;
}

/** One command: what it is for, how it is called, its options, and how it runs. */
export interface CommandSpec {
  /** One line for the command list of `blockvault --help`. */
  readonly summary: string;
  /** Its forms, without the leading `blockvault `. */
  readonly usage: readonly string[];
  /** Paragraphs shown under the usage in the command's own help. */
  readonly details?: readonly string[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly run: (ctx: CommandContext) => Promise<void>;
}

/** The options in the form `parseArgs` takes. */
export function parseArgsOptions(
  specs: Readonly<Record<string, OptionSpec>>,
): Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> {
  return Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [
      name,
      {
        type: spec.kind === OptionKind.Flag ? "boolean" : "string",
        ...(spec.short ? { short: spec.short } : {}),
        ...(spec.multiple ? { multiple: true } : {}),
      },
    ]),
  );
}

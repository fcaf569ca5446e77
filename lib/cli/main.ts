import { ValidationError } from "../errors.ts";
import type { CommandContext } from "./context.ts";
import { awsOptions, GLOBAL_OPTIONS } from "./global-options.ts";
import { commandHelp, mainHelp } from "./help.ts";
import { toJsonOutput } from "./json-output.ts";
import { parseCommandLine } from "./parse.ts";
import { reportError } from "./report.ts";
import { COMMANDS } from "./table/index.ts";
import { packageVersion } from "./version.ts";

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes("--json");
  try {
    const [name, ...rest] = argv;
    if (name === "--version" || name === "-V") {
      console.log(json ? JSON.stringify({ version: packageVersion() }) : `blockvault ${packageVersion()}`);
      return 0;
    }
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      // Without a command it is a usage error: scripts that forgot one must not see success.
      console.log(mainHelp(COMMANDS, packageVersion()));
      return name === undefined ? 2 : 0;
    }
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command) {
      const what = name.startsWith("-") ? `option ${name} before a command` : `command "${name}"`;
      throw new ValidationError(`unknown ${what} (see blockvault --help)`);
    }
    // Help is answered before the rest is checked: `backup --help` needs no --disk.
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(commandHelp(name, command));
      return 0;
    }
    const { values, positionals } = parseCommandLine(rest, { ...GLOBAL_OPTIONS, ...command.options }, name);
    await command.run(contextOf(values, positionals, json));
    // A command that finished but failed part of its work (run-due: a backup or a copy) says so
    // in the process's exit code; it is handed back (the launcher sets it from this result) and
    // cleared, so that a later run in the same process starts from success.
    const partial = Number(process.exitCode ?? 0);
    process.exitCode = undefined;
    return partial;
  } catch (err) {
    return reportError(err, json);
  }
}

function contextOf(
  values: CommandContext["values"],
  positionals: readonly string[],
  json: boolean,
): CommandContext {
  return {
    global: {
      vault: (values.vault as string | undefined) ?? process.env.BLOCKVAULT_HOME ?? ".blockvault",
      keyring: values.keyring as string | undefined,
      token: (values.token as string | undefined) ?? process.env.BLOCKVAULT_TOKEN,
      aws: awsOptions(values),
      json,
    },
    values,
    positionals,
    print: (data, text) => console.log(json ? toJsonOutput(data) : text),
  };
}

import { BlockvaultError } from "../errors.ts";
import { exitCodeOf } from "./exit-codes.ts";

/**
 * Prints `err` as one line on stderr (JSON with `--json`) and returns its exit code; never a
 * stack trace, unless BLOCKVAULT_DEBUG is set. An error no part of blockvault anticipated
 * still gets one line naming the system error and the path it concerns.
 */
export function reportError(
  err: unknown,
  json: boolean,
  print: (line: string) => void = (line) => console.error(line),
): number {
  const error =
    err instanceof BlockvaultError ? err : new BlockvaultError(unexpectedMessage(err), { cause: err });
  if (json) {
    print(JSON.stringify({ error: { name: error.name, code: error.code, message: error.message } }));
  } else {
    print(`blockvault: ${error.message}`);
  }
  // The stack is there for whoever needs it, on request only.
  if (process.env.BLOCKVAULT_DEBUG && err instanceof Error && err.stack) print(err.stack);
  return exitCodeOf(error.code);
}

/** One line for a failure no part of blockvault anticipated, naming the system error if any. */
function unexpectedMessage(err: unknown): string {
  if (!(err instanceof Error)) return `unexpected failure: ${String(err)}`;
  const { code, path } = err as { code?: string; path?: string };
  const where = path ? ` (${path})` : "";
  const first = err.message.split("\n")[0];
  return `unexpected failure${code ? ` ${code}` : ""}${where}: ${first}`;
}

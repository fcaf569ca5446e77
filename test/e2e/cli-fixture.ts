import { runCli } from "../helpers/cli.ts";
import { seededBytes, seededText } from "../helpers/image-bytes.ts";

const MIB = 1024 * 1024;

/** Runs the CLI in process with `--json`, parsing what it printed. */
export async function cliJson(...args: string[]) {
  const run = await runCli([...args, "--json"]);
  return { ...run, json: run.stdout ? JSON.parse(run.stdout) : undefined };
}

/** A 6 MiB disk image: random and text extents, and a hole; different seeds share no block. */
export function diskImage(seed: number): Buffer {
  return Buffer.concat([seededBytes(seed, 2 * MIB), Buffer.alloc(MIB), seededText(seed, 3 * MIB)]);
}

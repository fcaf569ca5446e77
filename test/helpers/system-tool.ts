import { spawnSync } from "node:child_process";

/**
 * Runs a tool nobody here wrote, throwing (never skipping) with the Debian package to install
 * when it is missing, and with its output when it fails.
 */
export function runTool(command: string, args: readonly string[], pkg: string): string {
  const r = spawnSync(command, args, { encoding: "utf8" });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") {
    throw new Error(`this test needs ${command}: apt-get install ${pkg}`);
  }
  if (r.status !== 0)
    throw new Error(`${command} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

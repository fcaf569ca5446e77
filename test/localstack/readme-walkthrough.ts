import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { REPO } from "../infra/package-fixture.ts";

/** The ports the README's LocalStack section uses, each replaced by a free one when the tier runs it. */
export const README_PORTS = { localstack: 4566, moto: 5000, serve: 8080 } as const;

/** The `sh` code blocks of the README's "### On LocalStack" section, in order. */
export function localStackSectionBlocks(): string[] {
  const readme = readFileSync(path.join(REPO, "README.md"), "utf8");
  const start = readme.indexOf("### On LocalStack\n");
  if (start < 0) throw new Error('README.md has no "### On LocalStack" section');
  const rest = readme.slice(start + 1);
  const end = rest.search(/\n#{2,3} /);
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
}

/**
 * The section's commands as one bash script: the blocks in order, in one shell (a block's exports
 * and background processes are the next block's, as for a reader in one terminal), stopping at
 * the first command that fails. Only the ports change: each README port becomes its free one.
 */
export function walkthroughScript(ports: Readonly<Record<keyof typeof README_PORTS, number>>): string {
  let script = localStackSectionBlocks().join("\n");
  for (const [name, port] of Object.entries(README_PORTS)) {
    script = script.replace(
      new RegExp(`(?<=[:/ ])${port}\\b`, "g"),
      String(ports[name as keyof typeof README_PORTS]),
    );
  }
  return `set -euo pipefail\n${script}`;
}

/** A running (or ended) walk-through: its output so far, how it ended, how to end what it left running. */
export interface Walkthrough {
  readonly done: Promise<{ code: number | null; output: string }>;
  /** Ends the script's process group: LocalStack, moto and the server it started in the background. */
  stop(): Promise<void>;
}

/**
 * Runs `script` with bash from the repository root in a process group of its own, so that the
 * background processes it starts can be ended with it (by the group's id) once the tests are done.
 */
export function runWalkthrough(script: string, env: NodeJS.ProcessEnv, timeoutMs: number): Walkthrough {
  const child = spawn("bash", ["-c", script], {
    cwd: REPO,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const timer = setTimeout(() => {
    output += `\n[walk-through killed after ${timeoutMs} ms]`;
    killGroup(child.pid, "SIGKILL");
  }, timeoutMs);
  const done = new Promise<{ code: number | null; output: string }>((resolve) => {
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
  const stop = async () => {
    clearTimeout(timer);
    killGroup(child.pid, "SIGTERM");
    await new Promise((r) => setTimeout(r, 3000));
    killGroup(child.pid, "SIGKILL");
  };
  return { done, stop };
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group has ended already.
  }
}

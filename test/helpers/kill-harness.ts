import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/blockvault.mjs", import.meta.url));

/** How one child run of the CLI ended. */
export interface ChildEnd {
  /** Exit code; null when a signal ended it. */
  readonly code: number | null;
  /** Whether this harness killed it (it was still running when its delay passed). */
  readonly killed: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * Runs `bin/blockvault.mjs` with `args` in a child process and sends it SIGKILL after `killAfterMs`
 * (never, when undefined) unless it has ended by then.
 */
export function runChild(args: readonly string[], cwd: string, killAfterMs?: number): Promise<ChildEnd> {
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], { cwd, env: process.env });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  let killed = false;
  let exited = false;
  const timer =
    killAfterMs === undefined
      ? undefined
      : setTimeout(() => {
          if (exited) return;
          killed = true;
          child.kill("SIGKILL");
        }, killAfterMs);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      exited = true;
      if (timer) clearTimeout(timer);
      // A kill sent just as the process exited by itself does not count as a kill.
      resolve({ code, killed: killed && code === null, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Waits `ms`, so that holders killed before now are past the liveness window. */
export function outlive(ms: number): Promise<void> {
  return sleep(ms);
}

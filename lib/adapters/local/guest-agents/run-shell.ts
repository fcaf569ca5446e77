import { spawn } from "node:child_process";
import type { VmScript } from "../../../model.ts";
import type { ScriptRun } from "../../../ports/guest-agent.ts";

/** Output kept per stream: a script's record, not its log. */
const MAX_OUTPUT = 64 << 10;

/**
 * Runs `script.command` with `/bin/sh -c` on this machine, in a process group of its own, so a
 * timeout kills it with everything it started. Never rejects: a failure to start is a result
 * without an exit code and with the error as its stderr.
 */
export function runShell(script: VmScript): Promise<ScriptRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", ["-c", script.command], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout = (stdout + d).slice(-MAX_OUTPUT);
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-MAX_OUTPUT);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // It ended meanwhile.
        }
      }
    }, script.timeoutMs);
    const end = (exitCode: number | null, error?: string) => {
      clearTimeout(timer);
      resolve({
        command: script.command,
        exitCode: timedOut ? null : exitCode,
        stdout,
        stderr: error ? `${stderr}${error}` : stderr,
        timedOut,
        ms: Math.round(performance.now() - started),
      });
    };
    child.on("error", (err) => end(null, err.message));
    child.on("close", (code) => end(code));
  });
}

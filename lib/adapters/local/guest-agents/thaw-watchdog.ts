import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { GuestAgentError } from "../../../errors.ts";
import type { ThawWatchdog } from "../../../ports/guest-agent.ts";

/** What a watchdog thaws: a qemu-ga socket, or mount points of this machine. */
export type ThawSpec =
  | { readonly kind: "qemu-ga"; readonly socket: string }
  | { readonly kind: "local"; readonly mounts: readonly string[] };

const MAIN = fileURLToPath(new URL("./thaw-watchdog-main.ts", import.meta.url));
/** How long the watchdog process may take to start and say it is armed. */
const ARM_TIMEOUT_MS = 15_000;

/**
 * Starts the thaw watchdog: a detached process (a session of its own, so a signal to this
 * process's group does not reach it) that thaws `spec` `windowMs` after it is armed, or as soon
 * as its standard input closes without a disarm, which is what happens when this process dies,
 * however it dies (SIGKILL included: the kernel closes the pipe). Resolves once it is armed.
 */
export async function armThawWatchdog(spec: ThawSpec, windowMs: number): Promise<ThawWatchdog> {
  const child = spawn(process.execPath, [MAIN], { detached: true, stdio: ["pipe", "pipe", "ignore"] });
  child.stdin.write(`${JSON.stringify({ spec, windowMs })}\n`);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new GuestAgentError("the thaw watchdog did not start in time")),
      ARM_TIMEOUT_MS,
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(err);
    };
    child.on("error", (err) => fail(new GuestAgentError(`the thaw watchdog did not start: ${err.message}`)));
    child.on("exit", (code) => fail(new GuestAgentError(`the thaw watchdog exited at once (code ${code})`)));
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      if (!d.includes("armed")) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      resolve();
    });
  });
  // Neither the child nor its pipes keep this process alive: the pipe is only a lifeline.
  child.unref();
  child.stdout.destroy();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  let disarmed = false;
  return {
    disarm: async () => {
      if (disarmed) return;
      disarmed = true;
      await new Promise<void>((resolve) => child.stdin.end("disarm\n", () => resolve()));
    },
  };
}

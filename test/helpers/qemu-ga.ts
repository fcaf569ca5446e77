import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { QemuGaClient } from "../../lib/adapters/local/guest-agents/qemu-ga-client.ts";

/** A real qemu-ga (Debian qemu-guest-agent) on a unix socket of this machine. */
export interface RunningQemuGa {
  readonly socket: string;
  readonly client: QemuGaClient;
  stop(): void;
}

/**
 * Starts `qemu-ga -m unix-listen` on `dir/ga.sock` (state and pid files in `dir`) and waits until
 * it answers a ping. It runs on this machine and acts on this machine's file systems: the tests
 * only ever freeze their own loop mounts through it.
 */
export async function startQemuGa(dir: string, cleanup: (() => void)[]): Promise<RunningQemuGa> {
  const socket = join(dir, "ga.sock");
  const child: ChildProcess = spawn(
    "qemu-ga",
    ["-m", "unix-listen", "-p", socket, "-t", dir, "-f", join(dir, "ga.pid")],
    {
      stdio: "ignore",
    },
  );
  const stop = () => {
    if (child.exitCode === null) child.kill("SIGTERM");
  };
  cleanup.push(stop);
  const client = new QemuGaClient(socket);
  for (let i = 0; i < 100; i++) {
    if (
      existsSync(socket) &&
      (await client.call("guest-ping", undefined, 1000).then(
        () => true,
        () => false,
      ))
    ) {
      return { socket, client, stop };
    }
    await sleep(50);
  }
  throw new Error(`qemu-ga did not answer on ${socket}`);
}

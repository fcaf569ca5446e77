import { setTimeout as sleep } from "node:timers/promises";
import { GuestAgentError } from "../../../errors.ts";
import type { VmScript } from "../../../model.ts";
import type { GuestAgent, ScriptRun, ThawWatchdog } from "../../../ports/guest-agent.ts";
import { checkFreezeTargets } from "../../../util/freeze-guard.ts";
import { QemuGaClient } from "./qemu-ga-client.ts";
import { armThawWatchdog } from "./thaw-watchdog.ts";

/** How long a freeze or thaw may take in the guest (a freeze waits for dirty data to be written). */
const FREEZE_TIMEOUT_MS = 60_000;
const CALL_TIMEOUT_MS = 10_000;
const EXEC_POLL_MS = 50;

interface ExecStatus {
  readonly exited: boolean;
  readonly exitcode?: number;
  readonly signal?: number;
  readonly "out-data"?: string;
  readonly "err-data"?: string;
}

/**
 * The {@link GuestAgent} of a KVM, Proxmox or OpenStack guest: the QEMU guest agent on the unix
 * socket its hypervisor exposes (qemu-ga's own `-m unix-listen` socket works the same).
 * Scripts run through `guest-exec` (`/bin/sh -c`, output captured, `guest-exec-status` polled);
 * freezes are `guest-fsfreeze-freeze-list` with the checked mount points, never
 * `guest-fsfreeze-freeze`; the watchdog thaws through the same socket. qemu-ga on Linux has no
 * freeze timeout of its own (only the Windows VSS path gives up by itself), hence the watchdog.
 */
export function qemuGuestAgent(socket: string): GuestAgent {
  const client = new QemuGaClient(socket);
  return {
    description: `qemu-ga at ${socket}`,
    ping: async (timeoutMs) => {
      await client.call("guest-ping", undefined, timeoutMs);
    },
    exec: (script) => execScript(client, script),
    freeze: async (mountpoints) => {
      const targets = checkFreezeTargets(mountpoints);
      const frozen = await client.call<number>(
        "guest-fsfreeze-freeze-list",
        { mountpoints: targets },
        FREEZE_TIMEOUT_MS,
      );
      if (frozen !== targets.length) {
        // qemu-ga skips a path that is not a mount point of the guest: the freeze is partial.
        await client.call("guest-fsfreeze-thaw", undefined, FREEZE_TIMEOUT_MS).catch(() => undefined);
        throw new GuestAgentError(
          `qemu-ga at ${socket} froze ${frozen} of the ${targets.length} mount points ${targets.join(", ")}: one is not a mount point in the guest`,
        );
      }
      return frozen;
    },
    thaw: () => client.call<number>("guest-fsfreeze-thaw", undefined, FREEZE_TIMEOUT_MS),
    status: () => client.call<"frozen" | "thawed">("guest-fsfreeze-status", undefined, CALL_TIMEOUT_MS),
    armWatchdog: (windowMs): Promise<ThawWatchdog> => armThawWatchdog({ kind: "qemu-ga", socket }, windowMs),
    close: async () => {},
  };
}

/** Runs a script through guest-exec and polls it until it exits or its time is up. */
async function execScript(client: QemuGaClient, script: VmScript): Promise<ScriptRun> {
  const started = performance.now();
  const { pid } = await client.call<{ pid: number }>(
    "guest-exec",
    { path: "/bin/sh", arg: ["-c", script.command], "capture-output": true },
    CALL_TIMEOUT_MS,
  );
  const ms = () => Math.round(performance.now() - started);
  for (;;) {
    const status = await client.call<ExecStatus>("guest-exec-status", { pid }, CALL_TIMEOUT_MS);
    if (status.exited) {
      return {
        command: script.command,
        exitCode: status.exitcode ?? null,
        stdout: decode(status["out-data"]),
        stderr:
          decode(status["err-data"]) +
          (status.signal !== undefined ? `killed by signal ${status.signal}` : ""),
        timedOut: false,
        ms: ms(),
      };
    }
    if (ms() > script.timeoutMs) {
      // qemu-ga cannot stop a guest-exec process: it is left to finish in the guest.
      return {
        command: script.command,
        exitCode: null,
        stdout: "",
        stderr: `still running in the guest (pid ${pid})`,
        timedOut: true,
        ms: ms(),
      };
    }
    await sleep(EXEC_POLL_MS);
  }
}

function decode(data: string | undefined): string {
  return data === undefined ? "" : Buffer.from(data, "base64").toString("utf8");
}

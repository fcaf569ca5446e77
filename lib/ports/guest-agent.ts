import type { VmScript } from "../model.ts";

/** How one application script ran in the guest. */
export interface ScriptRun {
  readonly command: string;
  /** The exit code; null when it did not exit in time (or never started). */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly ms: number;
}

/** A process of its own that thaws the guest's file systems unless disarmed in time. */
export interface ThawWatchdog {
  /** Tells the watchdog the thaw was done; it exits without thawing. Idempotent. */
  disarm(): Promise<void>;
}

/**
 * The guest of a VM, as a backup coordinates with it: application scripts, and the freeze and
 * thaw of named file systems around the snapshot.
 *
 * Contract (test/integration/vm-guest-agents.test.ts):
 * - `ping` resolves when the agent answers within `timeoutMs`; otherwise it rejects with a
 *   `GuestAgentError` naming the agent.
 * - `exec` runs `script.command` with `/bin/sh -c` where the guest's applications run, waiting at
 *   most `script.timeoutMs`; a non-zero exit or a timeout is reported in the result, not thrown.
 *   It rejects (`GuestAgentError`) only when the script could not be started.
 * - `freeze(mountpoints)` freezes exactly those mount points and resolves with how many were
 *   frozen. Anything but a non-empty list of absolute mount points other than "/" is refused with
 *   `ValidationError` before the guest is asked (lib/util/freeze-guard.ts): a freeze of every file
 *   system, or of the root one, can hang the machine the agent runs on.
 * - `thaw` thaws whatever is frozen and resolves with how many were thawed (0 when none was);
 *   it is safe to repeat. `status` says whether the guest's file systems are frozen.
 * - `armWatchdog(windowMs)` starts, and waits for, a process of its own that thaws the guest
 *   `windowMs` after it started, or as soon as this process dies (SIGKILL included), unless
 *   disarmed first: the freeze is bounded even when the backup is not.
 * - `close` releases connections; it is idempotent.
 */
export interface GuestAgent {
  /** The agent, for messages: `qemu-ga at /run/web.ga`, `ssm i-0123…`, `local commands`. */
  readonly description: string;
  ping(timeoutMs: number): Promise<void>;
  exec(script: VmScript): Promise<ScriptRun>;
  freeze(mountpoints: readonly string[]): Promise<number>;
  thaw(): Promise<number>;
  status(): Promise<"frozen" | "thawed">;
  armWatchdog(windowMs: number): Promise<ThawWatchdog>;
  close(): Promise<void>;
}

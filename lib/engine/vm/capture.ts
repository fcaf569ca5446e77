import { Consistency, type VmRecord, type VmScript } from "../../model.ts";
import type { GuestAgent, ScriptRun } from "../../ports/guest-agent.ts";
import type { PreparedSnapshots, SnapshotProvider, TakenSnapshots } from "../../ports/snapshot-provider.ts";
import { checkFreezeTargets } from "../../util/freeze-guard.ts";

/** How long an agent has to answer the first ping before the VM is taken as unreachable. */
const PING_TIMEOUT_MS = 3000;

/** One step of the consistency sequence, as the job records it. */
export interface CaptureStep {
  readonly step: "pre-script" | "freeze" | "snapshot" | "thaw" | "post-script";
  readonly ok: boolean;
  readonly ms: number;
  readonly detail: string;
}

/** The snapshot of a VM's disks, the consistency it reached and how. */
export interface Capture {
  readonly snapshots: TakenSnapshots;
  readonly level: Consistency;
  /** Why the level is below application consistency; absent when it is not. */
  readonly reason?: string;
  readonly steps: readonly CaptureStep[];
  readonly scripts: readonly ScriptRun[];
  /** How long the file systems were frozen (ms), when they were. */
  readonly freezeMs?: number;
  /** When the freeze was asked for and the thaw done (epoch ms), when there was a freeze. */
  readonly frozenAt?: number;
  readonly thawedAt?: number;
}

/** What capturing a VM needs: its guest (if it has an agent) and its snapshot provider. */
export interface CaptureDeps {
  readonly agent?: GuestAgent;
  readonly snapshots: SnapshotProvider;
  readonly now: () => number;
}

/**
 * Takes the point-in-time snapshot of every disk of `vm` in the order Azure Backup uses:
 * application pre-scripts, then the freeze of the named mount points, then the snapshot, then the
 * thaw, then the post-scripts. The thaw runs on every path out of the freeze, and a watchdog
 * process thaws after the freeze window even if this process dies. Whatever fails lowers the level
 * instead of failing the backup: application-consistent needs the pre-scripts and the freeze,
 * file-system-consistent the freeze, and crash-consistent is what is left; the reason is recorded.
 * Only a snapshot that cannot be taken at all rejects.
 */
export async function captureConsistent(vm: VmRecord, deps: CaptureDeps): Promise<Capture> {
  const run = new CaptureRun(vm, deps);
  return run.capture();
}

/** One capture's state: its steps, scripts and the reasons it fell back. */
class CaptureRun {
  readonly steps: CaptureStep[] = [];
  readonly scripts: ScriptRun[] = [];
  readonly #vm: VmRecord;
  readonly #deps: CaptureDeps;

  constructor(vm: VmRecord, deps: CaptureDeps) {
    this.#vm = vm;
    this.#deps = deps;
  }

  async capture(): Promise<Capture> {
    const config = this.#vm.consistency;
    const prepared = await this.#deps.snapshots.prepare(this.#vm.disks);
    const agent = this.#deps.agent;
    if (!agent) return this.#unfrozen(prepared, "no guest agent is configured");
    const unreachable = await agent.ping(PING_TIMEOUT_MS).then(
      () => undefined,
      (err: unknown) => `${agent.description} is unreachable: ${(err as Error).message}`,
    );
    if (unreachable) return this.#unfrozen(prepared, unreachable);
    const appReason = await this.#runScripts("pre-script", config.preScripts);
    const fits = prepared.fits(config.freezeWindowMs);
    const mounts = freezeTargets(config.freezeMounts);
    let result: Capture;
    if (typeof mounts === "string") result = await this.#unfrozen(prepared, mounts);
    else if (fits !== true) result = await this.#unfrozen(prepared, fits);
    else result = await this.#frozen(agent, prepared, mounts, appReason);
    await this.#runScripts("post-script", config.postScripts);
    return { ...result, steps: this.steps, scripts: this.scripts };
  }

  /** Freeze, snapshot, thaw; falls back to an unfrozen snapshot when the freeze or its window fails. */
  async #frozen(
    agent: GuestAgent,
    prepared: PreparedSnapshots,
    mounts: string[],
    appReason: string | undefined,
  ): Promise<Capture> {
    const windowMs = this.#vm.consistency.freezeWindowMs;
    // Never a freeze without its watchdog: without one nothing would bound it if this process died.
    const watchdog = await agent.armWatchdog(windowMs).catch((err: unknown) => err as Error);
    if (watchdog instanceof Error) return this.#unfrozen(prepared, `nothing was frozen: ${watchdog.message}`);
    const frozenAt = this.#deps.now();
    let taken: TakenSnapshots | undefined;
    let failure: string | undefined;
    try {
      await this.#step(
        "freeze",
        () => agent.freeze(mounts),
        (n) => `froze ${n} of ${mounts.join(", ")}`,
      );
      taken = await this.#step(
        "snapshot",
        () => prepared.take(frozenAt + windowMs),
        () => "taken while frozen",
      );
    } catch (err) {
      failure = (err as Error).message;
    } finally {
      await this.#step(
        "thaw",
        () => agent.thaw(),
        (n) => `thawed ${n}`,
      ).catch(() => undefined);
      await watchdog.disarm().catch(() => undefined);
    }
    const thawedAt = this.#deps.now();
    const freezeMs = thawedAt - frozenAt;
    const window = { freezeMs, frozenAt, thawedAt };
    if (taken && freezeMs > windowMs) {
      // The watchdog may have thawed before the snapshot was complete: it cannot be trusted.
      await taken.release();
      failure = `the file systems stayed frozen ${freezeMs} ms, longer than the ${windowMs} ms window`;
      taken = undefined;
    }
    if (!taken) return { ...(await this.#unfrozen(prepared, `the freeze failed: ${failure}`)), ...window };
    const level = appReason ? Consistency.FileSystem : Consistency.Application;
    return { ...this.#result(taken, level, appReason), ...window };
  }

  /** A snapshot taken without a freeze: crash-consistent, with the reason. */
  async #unfrozen(prepared: PreparedSnapshots, reason: string): Promise<Capture> {
    const taken = await this.#step(
      "snapshot",
      () => prepared.take(),
      () => "taken unfrozen",
    );
    return this.#result(taken, Consistency.Crash, reason);
  }

  #result(snapshots: TakenSnapshots, level: Consistency, reason?: string): Capture {
    return { snapshots, level, ...(reason ? { reason } : {}), steps: this.steps, scripts: this.scripts };
  }

  /** Runs the scripts in order; returns why application consistency is out of reach, if it is. */
  async #runScripts(
    step: "pre-script" | "post-script",
    scripts: readonly VmScript[],
  ): Promise<string | undefined> {
    const agent = this.#deps.agent;
    if (scripts.length === 0)
      return step === "pre-script" ? "no application pre-script is configured" : undefined;
    if (!agent) return `no guest agent runs the ${step}s`;
    for (const [i, script] of scripts.entries()) {
      const started = this.#deps.now();
      const ran = await agent.exec(script).catch(
        (err: unknown): ScriptRun => ({
          command: script.command,
          exitCode: null,
          stdout: "",
          stderr: (err as Error).message,
          timedOut: false,
          ms: this.#deps.now() - started,
        }),
      );
      this.scripts.push(ran);
      const ok = ran.exitCode === 0;
      const how = ran.timedOut
        ? `timed out after ${script.timeoutMs} ms`
        : `exited ${ran.exitCode ?? "without a code"}`;
      this.steps.push({ step, ok, ms: ran.ms, detail: `${script.command}: ${how}` });
      // A pre-script that fails leaves the application unprepared: the rest are not run.
      if (!ok) return `${step} ${i + 1} (${script.command}) ${how}`;
    }
    return undefined;
  }

  async #step<T>(
    step: CaptureStep["step"],
    run: () => Promise<T>,
    describe: (value: T) => string,
  ): Promise<T> {
    const started = this.#deps.now();
    try {
      const value = await run();
      this.steps.push({ step, ok: true, ms: this.#deps.now() - started, detail: describe(value) });
      return value;
    } catch (err) {
      this.steps.push({ step, ok: false, ms: this.#deps.now() - started, detail: (err as Error).message });
      throw err;
    }
  }
}

/** The checked freeze list, or why nothing will be frozen. */
function freezeTargets(mounts: readonly string[]): string[] | string {
  try {
    return checkFreezeTargets(mounts);
  } catch (err) {
    return (err as Error).message;
  }
}

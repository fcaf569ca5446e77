import { expect } from "vitest";
import type { Clock } from "../../lib/ports/clock.ts";
import type { Vault } from "../../lib/vault.ts";
import { describeCall, type FaultKind, type FaultMode, FaultPlan, type PortCall } from "./fault-plan.ts";
import { sampleCalls } from "./fault-sample.ts";
import { openFaultyVault } from "./faulty-vault.ts";
import { removeDir } from "./temp-dir.ts";

/** One kind of injected fault: where it strikes relative to the real call, and what it raises. */
export interface Fault {
  readonly kind: FaultKind;
  /** `before`: the call never reaches the port; `after`: it lands, then its response is lost. */
  readonly mode: Exclude<FaultMode, "crash">;
}

/** Every fault a call can suffer; `after` only strikes writes. */
export const FAULTS: readonly Fault[] = [
  { kind: "transient", mode: "before" },
  { kind: "fatal", mode: "before" },
  { kind: "transient", mode: "after" },
  { kind: "fatal", mode: "after" },
];

/** What one run of the operation under test did. */
export interface Outcome<R> {
  readonly result?: R;
  readonly error?: unknown;
  /** The call the fault hit (undefined in the clean run). */
  readonly hit?: PortCall;
  /** The fault injected (undefined in the clean run). */
  readonly fault?: Fault;
  readonly calls: readonly PortCall[];
  /** The vault copy it ran on (closed); removed after `verify`. */
  readonly dir: string;
  readonly label: string;
}

/** One operation to fault: how to set it up, run it and judge what it left. */
export interface FaultScenario<R> {
  /** A fresh copy of the vault the operation runs on; returns its directory. */
  prepare(): Promise<string>;
  readonly clock: Clock;
  /** Runs the operation; `plan` is for wrapping a source or target of its own. */
  run(vault: Vault, plan: FaultPlan, dir: string): Promise<R>;
  /** Asserts every invariant on the outcome (the vault copy is closed; reopen it). */
  verify(outcome: Outcome<R>): Promise<void>;
}

/** Longest a single faulted run may take before it counts as a hang. */
const RUN_TIMEOUT_MS = 20_000;

/** A run that neither resolved nor rejected in time: always a test failure, never an outcome. */
class RunHung extends Error {}

function withTimeout<T>(promise: Promise<T>, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RunHung(`${label}: hung for ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs the scenario once with `arm` deciding the fault; the outcome is returned, never thrown. */
export async function runOnce<R>(
  scenario: FaultScenario<R>,
  arm: (plan: FaultPlan) => void,
  label: string,
  fault?: Fault,
): Promise<Outcome<R>> {
  const dir = await scenario.prepare();
  const plan = new FaultPlan();
  const vault = await openFaultyVault(dir, plan, scenario.clock);
  let result: R | undefined;
  let error: unknown;
  try {
    arm(plan);
    result = await withTimeout(scenario.run(vault, plan, dir), label);
  } catch (err) {
    error = err;
  } finally {
    plan.disarm();
    await vault.close();
  }
  if (error instanceof RunHung) throw error;
  const hit = plan.hit;
  const at = hit ? `${label}, ${fault?.kind} ${fault?.mode} ${describeCall(hit)}` : label;
  return {
    ...(result !== undefined ? { result } : {}),
    ...(error !== undefined ? { error } : {}),
    ...(hit ? { hit } : {}),
    ...(fault ? { fault } : {}),
    calls: [...plan.calls],
    dir,
    label: at,
  };
}

/** The clean run: counts its calls, and checks it with the scenario's own `verify`. */
export async function cleanRun<R>(scenario: FaultScenario<R>, label: string): Promise<PortCall[]> {
  const outcome = await runOnce(scenario, (plan) => plan.arm(), `${label} (clean)`);
  try {
    expect(outcome.error, outcome.label).toBeUndefined();
    await scenario.verify(outcome);
  } finally {
    await removeDir(outcome.dir);
  }
  return [...outcome.calls];
}

/**
 * Most calls faulted per fault kind and operation: `fallback`, or `BLOCKVAULT_FAULT_BUDGET`
 * (a number, or `all` to fault every call of the clean run).
 */
export function faultBudget(fallback: number): number {
  const env = process.env.BLOCKVAULT_FAULT_BUDGET;
  if (env === "all") return Number.POSITIVE_INFINITY;
  const n = Number(env);
  return env && Number.isInteger(n) && n > 0 ? n : fallback;
}

/** Options of {@link faultEveryCall}. */
export interface MatrixOptions {
  /** Most calls faulted per fault kind; above it a seeded sample (see `sampleCalls`). */
  readonly budget: number;
  readonly seed: number;
}

/**
 * For each fault of {@link FAULTS} and each call N of the clean run (writes only, for a lost
 * response; a seeded sample when there are more than `budget`), runs the operation with that
 * fault at call N and verifies the outcome. Returns how many runs were made.
 */
export async function faultEveryCall<R>(
  scenario: FaultScenario<R>,
  clean: readonly PortCall[],
  fault: Fault,
  label: string,
  options: MatrixOptions,
): Promise<number> {
  const candidates = fault.mode === "after" ? clean.filter((c) => c.write) : clean;
  const chosen = sampleCalls(candidates, options.budget, options.seed);
  for (const call of chosen) {
    const outcome = await runOnce(
      scenario,
      (plan) => plan.arm((c) => c.n === call.n, fault.mode, fault.kind),
      label,
      fault,
    );
    try {
      expect(outcome.hit, `${label}: the fault at call ${call.n} must fire`).toBeDefined();
      await scenario.verify(outcome);
    } finally {
      await removeDir(outcome.dir);
    }
  }
  return chosen.length;
}

/**
 * Reading an ASL state machine as a graph, to bound what an execution can do from its
 * definition alone: which states can repeat (strongly connected components of the transitions,
 * Catch edges included), how many history events a visit of a state can write at most, and how
 * long its retries can wait.
 */

/** A retrier as ASL writes it (Step Functions' defaults where a field is absent). */
export interface Retrier {
  readonly ErrorEquals: readonly string[];
  readonly IntervalSeconds?: number;
  readonly MaxAttempts?: number;
  readonly BackoffRate?: number;
  readonly MaxDelaySeconds?: number;
}

/** A state as far as these bounds look at it. */
export interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly Default?: string;
  readonly End?: boolean;
  readonly Choices?: readonly { readonly Next: string }[];
  readonly Catch?: readonly { readonly ErrorEquals: readonly string[]; readonly Next: string }[];
  readonly Retry?: readonly Retrier[];
  readonly TimeoutSeconds?: number;
}

export type States = Readonly<Record<string, AslState>>;

/** Where a state can go next, on success, by a choice or by a caught error. */
export function successors(state: AslState): string[] {
  const next = [state.Next, state.Default, ...(state.Choices ?? []).map((c) => c.Next)];
  next.push(...(state.Catch ?? []).map((c) => c.Next));
  return [...new Set(next.filter((n): n is string => n !== undefined))];
}

/** The states reachable from `from` (itself included) following {@link successors}. */
export function reachable(
  states: States,
  from: string,
  without: ReadonlySet<string> = new Set(),
): Set<string> {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (seen.has(name) || without.has(name)) continue;
    const state = states[name];
    if (!state) throw new Error(`transition to a state that does not exist: ${name}`);
    seen.add(name);
    stack.push(...successors(state));
  }
  return seen;
}

/** The states on some cycle through `state`: its strongly connected component. */
export function loopOf(states: States, state: string): Set<string> {
  const loop = new Set<string>();
  for (const name of reachable(states, state)) {
    if (name === state || reachable(states, name).has(state)) loop.add(name);
  }
  return loop;
}

/** Whether the states of `loop` still form a cycle once `cut` is taken out. */
export function cyclicWithout(states: States, loop: ReadonlySet<string>, cut: string): boolean {
  const removed = new Set([cut, ...Object.keys(states).filter((n) => !loop.has(n))]);
  for (const name of loop) {
    if (name === cut) continue;
    for (const next of successors(states[name]!)) {
      if (!removed.has(next) && reachable(states, next, removed).has(name)) return true;
    }
  }
  return false;
}

/** Retries of one visit at most: every retrier's MaxAttempts (each counts on its own; default 3). */
export function maxRetries(state: AslState): number {
  return (state.Retry ?? []).reduce((sum, r) => sum + (r.MaxAttempts ?? 3), 0);
}

/**
 * History events one visit of a state writes at most. Every state: Entered and Exited. A Task
 * adds Scheduled, Started and Succeeded/Failed/TimedOut per attempt; a Fail state writes only
 * its Entered event (the execution's own end event is counted once, outside).
 */
export function maxEventsPerVisit(state: AslState): number {
  if (state.Type === "Fail") return 1;
  if (state.Type === "Task") return 2 + 3 * (1 + maxRetries(state));
  return 2;
}

/** The longest a retrier waits before its `n`th retry (1-based), jitter aside. */
export function retryDelaySeconds(retrier: Retrier, n: number): number {
  const delay = (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** (n - 1);
  return Math.min(delay, retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY);
}

/** The retrier of `state` that an error named `error` meets first (as Step Functions matches). */
export function retrierFor(state: AslState, error: string): Retrier | undefined {
  return (state.Retry ?? []).find(
    (r) => r.ErrorEquals.includes(error) || r.ErrorEquals.includes("States.ALL"),
  );
}

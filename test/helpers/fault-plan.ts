import { AccessDeniedError, BlockvaultError, TransientError } from "../../lib/errors.ts";

/** One call a faulty port saw. */
export interface PortCall {
  /** 1-based, counted across every port sharing the plan since the last {@link FaultPlan.arm}. */
  readonly n: number;
  /** Which port: `store`, `catalog`, `references`, `keys`, `source`, `target`. */
  readonly port: string;
  readonly method: string;
  /** The first string argument (an object key or prefix, a record id), when there is one. */
  readonly key?: string;
  /** Whether the call changes state, so that it can land with its response lost. */
  readonly write: boolean;
}

/**
 * How an injected fault behaves:
 * - `before`: the call throws without reaching the real port (a refused or dropped request);
 * - `after`: the real call runs, then the caller gets an error anyway (a lost response);
 * - `crash`: like `before`, and every later call of every port throws too, the way a process
 *   that died would never get to clean up.
 */
export type FaultMode = "before" | "after" | "crash";

/** The error an injected fault raises: retryable or not. */
export type FaultKind = "transient" | "fatal";

/** Thrown by every call after a simulated crash. */
export class CrashedError extends BlockvaultError {
  constructor(call: PortCall) {
    super(`process crashed before ${call.port}.${call.method}`, { code: "CRASHED" });
  }
}

/**
 * Shared by every port wrapped with {@link withFaults}: counts and logs their calls, in one
 * sequence across all ports, and decides which one fails. Nothing is counted or injected until {@link arm} is called, so a
 * test can open the vault through the faulty ports and count only the operation under test.
 */
export class FaultPlan {
  readonly calls: PortCall[] = [];
  /** The error raised by the injected fault, once it fired. */
  injected: BlockvaultError | undefined;
  /** The call the fault was injected at, once it fired. */
  hit: PortCall | undefined;
  private armed = false;
  private crashed = false;
  private trigger: ((call: PortCall) => boolean) | undefined;
  private mode: FaultMode = "before";
  private kind: FaultKind = "transient";

  /** Starts counting from zero; fails the first call `trigger` accepts (none when omitted). */
  arm(
    trigger?: (call: PortCall) => boolean,
    mode: FaultMode = "before",
    kind: FaultKind = "transient",
  ): void {
    this.calls.length = 0;
    this.injected = undefined;
    this.hit = undefined;
    this.crashed = false;
    this.armed = true;
    this.trigger = trigger;
    this.mode = mode;
    this.kind = kind;
  }

  /** Stops counting and injecting. */
  disarm(): void {
    this.armed = false;
  }

  /** Runs one port call under the plan. */
  async run<T>(
    port: string,
    method: string,
    key: string | undefined,
    call: () => Promise<T>,
    write = false,
  ): Promise<T> {
    if (!this.armed) return call();
    const entry: PortCall = {
      n: this.calls.length + 1,
      port,
      method,
      write,
      ...(key === undefined ? {} : { key }),
    };
    this.calls.push(entry);
    if (this.crashed) throw new CrashedError(entry);
    if (this.injected || !this.trigger?.(entry)) return call();
    this.injected = this.makeError(entry);
    this.hit = entry;
    if (this.mode === "crash") this.crashed = true;
    if (this.mode === "after") await call();
    throw this.injected;
  }

  private makeError(call: PortCall): BlockvaultError {
    const what = `injected ${this.kind} fault at call ${call.n} (${call.port}.${call.method}${call.key ? ` ${call.key}` : ""})`;
    return this.kind === "transient" ? new TransientError(what) : new AccessDeniedError(what);
  }
}

/** A short label of a call, for assertion messages. */
export function describeCall(call: PortCall): string {
  return `#${call.n} ${call.port}.${call.method}${call.key ? ` ${call.key}` : ""}`;
}

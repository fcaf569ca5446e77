import type { RetryPolicy } from "../../../lib/decorators/retry.ts";
import { retryPolicy } from "../../../lib/decorators/retry.ts";
import { type BlockvaultError, TransientError } from "../../../lib/errors.ts";
import type { LocalObjectFiles, StagingArea } from "../../../lib/ports/local-files.ts";
import type { ByteRange, ObjectInfo, ObjectStore } from "../../../lib/ports/object-store.ts";

/**
 * How an injected fault behaves: `before` fails without reaching the real port (a refused
 * request); `after` runs the real call, then fails anyway (a lost response, the ambiguous case).
 */
export type FaultMode = "before" | "after";

interface Fault {
  readonly method: string;
  readonly mode: FaultMode;
  readonly error: BlockvaultError;
}

/** Scripted faults for the fakes below, consumed in order per method, and a log of calls. */
export class FaultScript {
  /** Every call seen, by method name. */
  readonly calls: string[] = [];
  readonly #faults: Fault[] = [];

  /** Fails the next `times` calls of `method` (default: once, before the call, transiently). */
  fail(method: string, mode: FaultMode = "before", times = 1, error?: BlockvaultError): this {
    for (let i = 0; i < times; i++) {
      this.#faults.push({ method, mode, error: error ?? new TransientError(`injected fault in ${method}`) });
    }
    return this;
  }

  /** Records a call of `method` and returns the fault it should suffer, if any. */
  take(method: string): Fault | undefined {
    this.calls.push(method);
    const i = this.#faults.findIndex((f) => f.method === method);
    return i < 0 ? undefined : this.#faults.splice(i, 1)[0];
  }

  /** How many calls `method` got. */
  count(method: string): number {
    return this.calls.filter((c) => c === method).length;
  }
}

/** Runs `call` under the fault `script` holds for `method`. */
export async function underFaults<T>(
  script: FaultScript,
  method: string,
  call: () => Promise<T>,
): Promise<T> {
  const fault = script.take(method);
  if (fault?.mode === "before") throw fault.error;
  const result = await call();
  if (fault?.mode === "after") throw fault.error;
  return result;
}

/** Wraps every promise-returning method of `inner` with the faults of `script`. */
export function withFaults<T extends object>(inner: T, script: FaultScript): T {
  return new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function" || typeof prop !== "string") return value;
      return (...args: unknown[]) => underFaults(script, prop, () => value.apply(target, args));
    },
  });
}

/**
 * An object store over `inner` with scripted faults. A `list` fault fails the listing after it
 * yielded `listFailAfter` items (0: before the first); `before`/`after` do not apply to it.
 */
export class FlakyObjectStore implements ObjectStore {
  readonly script = new FaultScript();
  readonly #inner: ObjectStore;
  /** Per faulted `list` call, in order: how many items to yield before failing. */
  readonly listFailAfter: number[] = [];

  constructor(inner: ObjectStore) {
    this.#inner = inner;
  }

  put(key: string, data: Uint8Array): Promise<void> {
    return underFaults(this.script, "put", () => this.#inner.put(key, data));
  }
  get(key: string, range?: ByteRange): Promise<Buffer> {
    return underFaults(this.script, "get", () => this.#inner.get(key, range));
  }
  head(key: string): Promise<ObjectInfo> {
    return underFaults(this.script, "head", () => this.#inner.head(key));
  }
  delete(key: string): Promise<void> {
    return underFaults(this.script, "delete", () => this.#inner.delete(key));
  }
  /** The inner store's staging areas, `stage` and their puts (`stagedPut`) under faults. */
  async stage(): Promise<StagingArea | undefined> {
    const area = await underFaults(this.script, "stage", async () =>
      (this.#inner as Partial<LocalObjectFiles>).stage?.(),
    );
    if (!area) return undefined;
    return {
      directory: area.directory,
      put: (key, name) => underFaults(this.script, "stagedPut", () => area.put(key, name)),
      close: () => area.close(),
    };
  }
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const fault = this.script.take("list");
    const failAfter = fault ? (this.listFailAfter.shift() ?? 0) : Number.POSITIVE_INFINITY;
    let yielded = 0;
    for await (const info of this.#inner.list(prefix)) {
      if (yielded === failAfter) throw fault!.error;
      yield info;
      yielded++;
    }
    if (fault && yielded === failAfter) throw fault.error;
  }
}

/** A policy whose sleeps return at once and are recorded in `delays`; jitter fixed at 0.5. */
export function instantPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy & { delays: number[] } {
  const delays: number[] = [];
  const policy = retryPolicy({
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => 0.5,
    ...overrides,
  });
  return { ...policy, delays };
}

/** Every object under `prefix`, keys sorted. */
export async function keysUnder(store: ObjectStore, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list(prefix)) keys.push(info.key);
  return keys.sort();
}

/** `inner` with a `list` that records whether its listing was closed (finished or abandoned). */
export function watchListClose(inner: ObjectStore): { store: ObjectStore; closed: () => boolean } {
  let closed = false;
  const store: ObjectStore = {
    put: (key, data) => inner.put(key, data),
    get: (key, range) => inner.get(key, range),
    head: (key) => inner.head(key),
    delete: (key) => inner.delete(key),
    async *list(prefix) {
      try {
        yield* inner.list(prefix);
      } finally {
        closed = true;
      }
    },
  };
  return { store, closed: () => closed };
}

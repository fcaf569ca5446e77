import type { FaultPlan } from "./fault-plan.ts";

/**
 * Method names that change state: a fault in "after" mode lets such a call land and loses its
 * response. Reads (`get*`, `list*`, `head`, `is*`, `read`, `localPath`, `stage`, ...) never match.
 */
const WRITE =
  /^(put|delete|create|update|commit|append|register|set|hold|release|condemn|mark|drop|kill|track|acquire|generate|write|flush|abort|close|rotate)/;

/** How {@link withFaults} sees one port's methods (all by name). */
export interface FaultSpec {
  /** Methods returning an async iterable (default `list`): counted once per call. */
  readonly streams?: readonly string[];
  /** Methods resolving to a port whose calls count under the same name (`stage`). */
  readonly nested?: readonly string[];
  /** Synchronous methods, and any not to count: passed through (`Catalog.references`). */
  readonly exempt?: readonly string[];
  /** Prefixed to the recorded method names (a staging area's calls are `area.put`, `area.close`). */
  readonly prefix?: string;
}

/**
 * Wraps any port object in a Proxy under `plan`: every method call counts as one call of `port`
 * in the plan's single sequence (so "the fault at call N" means the same whichever port N falls
 * on), and is the one that fails when the plan picks it. Plain properties (`description`, `fd`,
 * `size`) pass through. The key recorded is the call's first string argument.
 *
 * An async iterable (`ObjectStore.list`) counts once per call, not per item or page: a fault
 * before fails its first step without listing; a lost response lists everything, then fails.
 * A port returned by a `nested` method (`ObjectStore.stage`) is wrapped in turn, so a staged put
 * is a call of the same port (`area.put`).
 */
export function withFaults<T extends object>(
  port: T,
  name: string,
  plan: FaultPlan,
  spec: FaultSpec = {},
): T {
  const streams = spec.streams ?? ["list"];
  return new Proxy(port, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function" || typeof prop !== "string" || spec.exempt?.includes(prop))
        return value;
      const write = WRITE.test(prop);
      return (...args: unknown[]) => {
        const key = args.find((a): a is string => typeof a === "string");
        const call = () => value.apply(target, args);
        const method = `${spec.prefix ?? ""}${prop}`;
        if (streams.includes(prop)) return faultyStream(plan, name, method, key, call);
        return plan.run(
          name,
          method,
          key,
          async () => {
            const result = await call();
            return spec.nested?.includes(prop) && result && typeof result === "object"
              ? withFaults(result, name, plan, { prefix: `${prop === "stage" ? "area" : prop}.` })
              : result;
          },
          write,
        );
      };
    },
  });
}

/** A listing counted as one call: collected whole inside the plan's call, then replayed. */
async function* faultyStream<T>(
  plan: FaultPlan,
  port: string,
  method: string,
  key: string | undefined,
  call: () => AsyncIterable<T>,
): AsyncIterable<T> {
  const items = await plan.run(port, method, key, async () => {
    const out: T[] = [];
    for await (const item of call()) out.push(item);
    return out;
  });
  yield* items;
}

/** How a decorator wraps one method of a port: given the inner call, the decorated call. */
export type MethodWrapper<P, K extends keyof P> = (call: P[K], inner: P) => P[K];

/**
 * One wrapper for every member of port `P`. The type has no optional keys, so the compiler
 * refuses a table that misses a method: a method added to the port cannot be left undecorated.
 */
export type WrapperTable<P> = { readonly [K in keyof P]-?: MethodWrapper<P, K> };

/**
 * Decorates every method of `inner` with its wrapper from `table`, generically: the decorator is
 * its table, not a class forwarding each method by hand. The result has exactly the port's
 * methods (an adapter's extra members stay on the adapter), each calling `inner`'s.
 */
export function decorate<P extends object>(inner: P, table: WrapperTable<P>): P {
  const decorated: Partial<P> = {};
  for (const key of Object.keys(table) as (keyof P)[]) {
    if (typeof inner[key] !== "function") {
      throw new TypeError(`cannot decorate ${String(key)}: the wrapped object has no such method`);
    }
    // Looked up on every call, as a hand-written forwarder would: the wrapped object stays free to
    // change its members.
    const call = (...args: unknown[]) => (inner[key] as (...a: unknown[]) => unknown).apply(inner, args);
    decorated[key] = table[key](call as P[typeof key], inner);
  }
  return decorated as P;
}

/** Functions that take a context as their first parameter: one aggregate's operations. */
// biome-ignore lint/suspicious/noExplicitAny: the context-free parameters differ per operation
export type Ops<C> = Record<string, (context: C, ...args: any[]) => unknown>;

/** `M`'s operations with the context bound: each takes the rest and returns a promise. */
export type BoundOps<C, M extends Ops<C>> = {
  [K in keyof M]: M[K] extends (context: C, ...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};

/**
 * Binds a context (a database, a table) to every operation of an aggregate, so that an adapter
 * is assembled from its per-aggregate modules instead of forwarding each method by hand. The
 * context is asked for on every call (a closed adapter refuses there). Each bound operation is
 * async: a synchronous operation's throw becomes a rejection, as the ports promise.
 */
export function bindOps<C, M extends Ops<C>>(context: () => C, ops: M): BoundOps<C, M> {
  const bound: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [name, op] of Object.entries(ops)) {
    bound[name] = async (...args) => op(context(), ...args);
  }
  return bound as BoundOps<C, M>;
}

/** Binds the context to the operations of several aggregates, into one object. */
export function bindAll<C, M extends Ops<C>[]>(
  context: () => C,
  ...aggregates: M
): UnionToIntersection<BoundOps<C, M[number]>> {
  return Object.assign({}, ...aggregates.map((ops) => bindOps(context, ops)));
}

/** `A | B` → `A & B`. */
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void
  ? I
  : never;

/**
 * `port` with the members in `overrides` replaced and every other member its own: a property
 * read goes to `port` (methods bound to it, so private fields and getters keep working), so a
 * member added to the port later, or one only some implementations have (`allocatedRanges`,
 * `flush`, a capability under a symbol), can never be dropped by the wrapper. Wrappers that copy
 * members by hand lose whatever they forgot to copy; this one has nothing to forget.
 */
export function overriding<T extends object>(port: T, overrides: Partial<T>): T {
  return new Proxy(port, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof T];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** `port` whose `close` also runs `release` afterwards (even when closing fails), once. */
export function releasingOnClose<T extends { close(): Promise<void> }>(
  port: T,
  release: () => void | Promise<void>,
): T {
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      try {
        await port.close();
      } finally {
        await release();
      }
    })();
    return closed;
  };
  return overriding(port, { close } as Partial<T>);
}

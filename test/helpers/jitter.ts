/** A seeded PRNG (mulberry32): the same seed replays the same interleaving. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function ticks(random: () => number): Promise<void> {
  const n = Math.floor(random() * 4);
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Wraps a port so every asynchronous method waits a random number of event-loop turns before
 * and after it runs: concurrent operations through it interleave differently for each seed.
 * Methods named in `passThrough` (those returning iterators) are called directly.
 */
export function jittered<T extends object>(target: T, random: () => number, passThrough: string[] = []): T {
  return new Proxy(target, {
    get(obj, prop) {
      // The target itself as receiver: its private fields are not reachable through the proxy.
      const value = Reflect.get(obj, prop, obj);
      if (typeof value !== "function") return value;
      if (typeof prop !== "string" || passThrough.includes(prop)) return value.bind(obj);
      return async (...args: unknown[]) => {
        await ticks(random);
        const result = await value.apply(obj, args);
        await ticks(random);
        return result;
      };
    },
  });
}

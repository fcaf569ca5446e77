import type { PortCall } from "./fault-plan.ts";

/** A small deterministic PRNG (mulberry32): the same seed picks the same calls on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * At most `budget` of `calls`, in call order: all of them when they fit; otherwise the first and
 * last call of every distinct port method (so no kind of call goes unfaulted), then a seeded
 * random choice of the rest.
 */
export function sampleCalls(calls: readonly PortCall[], budget: number, seed: number): PortCall[] {
  if (calls.length <= budget) return [...calls];
  const picked = new Map<number, PortCall>();
  const byMethod = new Map<string, PortCall[]>();
  for (const c of calls) {
    const key = `${c.port}.${c.method}`;
    byMethod.set(key, [...(byMethod.get(key) ?? []), c]);
  }
  for (const group of byMethod.values()) {
    for (const c of [group[0]!, group.at(-1)!]) if (picked.size < budget) picked.set(c.n, c);
  }
  const random = seeded(seed);
  const rest = calls.filter((c) => !picked.has(c.n));
  while (picked.size < budget && rest.length > 0) {
    const [c] = rest.splice(Math.floor(random() * rest.length), 1);
    picked.set(c!.n, c!);
  }
  return [...picked.values()].sort((a, b) => a.n - b.n);
}

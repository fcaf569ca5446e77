/**
 * Maps with at most `limit` calls in flight, keeping order. After the first failure no new call
 * starts, and the failure is rethrown once the calls in flight have ended: a caller that reports
 * failure has no writes of its still landing behind its back.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  let failure: unknown;
  const run = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        if (!failed) failure = err;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  if (failed) throw failure;
  return out;
}

/**
 * Calls `fn` on every item `items` yields, with at most `limit` calls in flight; items are pulled
 * only as calls finish, so a slow producer overlaps with the work. Stops pulling after the first
 * failure and rethrows it once the calls in flight have ended.
 */
export async function forEachLimit<T>(
  items: AsyncIterable<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const iterator = items[Symbol.asyncIterator]();
  let failed = false;
  let failure: unknown;
  const run = async () => {
    while (!failed) {
      let next: IteratorResult<T>;
      try {
        next = await iterator.next();
      } catch (err) {
        if (!failed) failure = err;
        failed = true;
        return;
      }
      if (next.done) return;
      try {
        await fn(next.value);
      } catch (err) {
        if (!failed) failure = err;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, run));
  if (failed) {
    await iterator.return?.();
    throw failure;
  }
}

import type {
  ByteRange,
  ObjectInfo,
  ObjectRetention,
  ObjectStore,
  RetentionMode,
} from "../ports/object-store.ts";
import { Semaphore } from "../util/semaphore.ts";

/**
 * An {@link ObjectStore} decorator that keeps at most `limit` calls to the inner store in
 * flight; further calls wait their turn (FIFO). It bounds open files, sockets and buffered
 * requests however many callers the engine runs, and keeps the contract unchanged.
 *
 * A `list` holds a permit only while it waits for the inner store's next item, never while the
 * caller handles one: a caller that reads objects inside its listing loop would otherwise
 * deadlock against its own listing at a low limit.
 */
export class LimitedObjectStore implements ObjectStore {
  readonly #inner: ObjectStore;
  readonly #permits: Semaphore;

  /**
   * @param inner the store to call.
   * @param limit most calls in flight at once, an integer >= 1; or the permits to share with
   *   other users of the same store (its staging areas' puts, see `limitedLocalObjectFiles`).
   */
  constructor(inner: ObjectStore, limit: number | Semaphore) {
    this.#inner = inner;
    this.#permits = typeof limit === "number" ? new Semaphore(limit) : limit;
    if (inner.retain) {
      this.retain = (key, until, mode) => this.#permits.run(() => this.#inner.retain!(key, until, mode));
    }
    if (inner.removeLeftovers)
      this.removeLeftovers = (minAgeMs) => this.#permits.run(() => this.#inner.removeLeftovers!(minAgeMs));
  }

  /** The inner store's, when it has one. */
  readonly removeLeftovers?: (minAgeMs: number) => Promise<number>;

  /** The inner store's retention, counted against the limit, when it has one. */
  readonly retain?: (key: string, until: number, mode: RetentionMode) => Promise<ObjectRetention>;

  /** The cap on calls in flight. */
  get limit(): number {
    return this.#permits.limit;
  }

  put(key: string, data: Uint8Array): Promise<void> {
    return this.#permits.run(() => this.#inner.put(key, data));
  }

  get(key: string, range?: ByteRange): Promise<Buffer> {
    return this.#permits.run(() => this.#inner.get(key, range));
  }

  head(key: string): Promise<ObjectInfo> {
    return this.#permits.run(() => this.#inner.head(key));
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const items = this.#inner.list(prefix)[Symbol.asyncIterator]();
    let finished = false;
    try {
      for (;;) {
        const step = await this.#permits
          .run(() => items.next())
          .catch((err: unknown) => {
            finished = true; // a listing that failed is over; nothing to release
            throw err;
          });
        if (step.done) {
          finished = true;
          return;
        }
        yield step.value;
      }
    } finally {
      // The caller stopped early (break, throw): let the inner listing release what it holds.
      if (!finished) await items.return?.();
    }
  }

  delete(key: string): Promise<void> {
    return this.#permits.run(() => this.#inner.delete(key));
  }
}

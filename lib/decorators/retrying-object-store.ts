import type {
  ByteRange,
  ObjectInfo,
  ObjectRetention,
  ObjectStore,
  RetentionMode,
} from "../ports/object-store.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retry } from "./retry.ts";
import { retryCreate } from "./retry-create.ts";

/**
 * An {@link ObjectStore} decorator that retries calls failing with a retryable error (see
 * {@link retry}), keeping the store's contract:
 * - `get`, `head` and `delete` are safe to repeat and are simply retried.
 * - `put` is create-only, so a retry after a lost response can find its own object. An
 *   `AlreadyExistsError` on a retry (never on the first attempt) counts as success only when the
 *   stored object's bytes equal the ones being put; otherwise it is rethrown.
 * - `list` is retried only while it has yielded nothing: once the caller has seen items, starting
 *   over would yield them twice, so a later failure is rethrown as it is.
 * - `retain` only extends, so it is simply retried too.
 */
export class RetryingObjectStore implements ObjectStore {
  readonly #inner: ObjectStore;
  readonly #policy: RetryPolicy;

  /**
   * @param inner the store to call.
   * @param policy attempts, backoff and timers; {@link DEFAULT_RETRY_POLICY} unless given.
   */
  constructor(inner: ObjectStore, policy: RetryPolicy = DEFAULT_RETRY_POLICY) {
    this.#inner = inner;
    this.#policy = policy;
    if (inner.retain) {
      // Retention only extends, so a repeat after a lost response changes nothing.
      this.retain = (key, until, mode) =>
        retry(() => this.#inner.retain!(key, until, mode), this.#policy, `retain object ${key}`);
    }
    if (inner.removeLeftovers) {
      this.removeLeftovers = (minAgeMs) =>
        retry(() => this.#inner.removeLeftovers!(minAgeMs), this.#policy, "remove leftovers of dead writers");
    }
  }

  /** The inner store's retention, retried, when it has one. */
  readonly retain?: (key: string, until: number, mode: RetentionMode) => Promise<ObjectRetention>;

  /** The inner store's, retried, when it has one. */
  readonly removeLeftovers?: (minAgeMs: number) => Promise<number>;

  put(key: string, data: Uint8Array): Promise<void> {
    return retryCreate(
      () => this.#inner.put(key, data),
      async () =>
        Buffer.from(data.buffer, data.byteOffset, data.byteLength).equals(await this.#inner.get(key)),
      this.#policy,
      `put object ${key}`,
    );
  }

  get(key: string, range?: ByteRange): Promise<Buffer> {
    return retry(() => this.#inner.get(key, range), this.#policy, `get object ${key}`);
  }

  head(key: string): Promise<ObjectInfo> {
    return retry(() => this.#inner.head(key), this.#policy, `head object ${key}`);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Only the first step is retried: each attempt starts a fresh listing, which is harmless
    // until an item has reached the caller.
    const { items, first } = await retry(
      async () => {
        const items = this.#inner.list(prefix)[Symbol.asyncIterator]();
        return { items, first: await items.next() };
      },
      this.#policy,
      `list objects under "${prefix}"`,
    );
    if (first.done) return;
    let handedOver = false;
    try {
      yield first.value;
      handedOver = true; // from here `yield*` closes `items` itself when the caller stops early
      yield* { [Symbol.asyncIterator]: () => items };
    } finally {
      if (!handedOver) await items.return?.();
    }
  }

  delete(key: string): Promise<void> {
    return retry(() => this.#inner.delete(key), this.#policy, `delete object ${key}`);
  }
}

/** Bytes of tables a cache keeps; more than a backup's reads ever revisit at once. */
const CACHE_BYTES = 32 * 1024 * 1024;

/**
 * The most recently used tables of an image (qcow2 L2 tables, VMDK grain tables), each read once
 * even when concurrent reads ask for it together. A failed read is not kept.
 */
export class TableCache {
  readonly #limit: number;
  readonly #tables = new Map<number, Promise<Buffer>>();

  /** A cache of tables of `tableBytes` bytes each. */
  constructor(tableBytes: number) {
    this.#limit = Math.max(4, Math.floor(CACHE_BYTES / Math.max(1, tableBytes)));
  }

  /** The table at host offset `key`, read by `load` when it is not cached. */
  get(key: number, load: () => Promise<Buffer>): Promise<Buffer> {
    const cached = this.#tables.get(key);
    if (cached) {
      // Map order is insertion order: moving it to the end makes eviction least recently used.
      this.#tables.delete(key);
      this.#tables.set(key, cached);
      return cached;
    }
    const loading = Promise.resolve().then(load);
    loading.catch(() => this.#tables.delete(key));
    this.#tables.set(key, loading);
    if (this.#tables.size > this.#limit) this.#tables.delete(this.#tables.keys().next().value!);
    return loading;
  }
}

/**
 * A least-recently-used cache of opened (verified, decrypted) blocks, bounded in bytes, keyed by
 * block ID. Blocks are content-addressed, so a cached block serves every offset and every point
 * that holds the same content. A block larger than the whole budget is never cached.
 */
export class BlockCache {
  readonly #blocks = new Map<string, Buffer>();
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes the cached blocks hold now; never more than the budget. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The block with this ID, which becomes the most recently used; undefined when not cached. */
  get(id: string): Buffer | undefined {
    const block = this.#blocks.get(id);
    if (block) {
      // Map keeps insertion order: re-inserting moves the block to the young end.
      this.#blocks.delete(id);
      this.#blocks.set(id, block);
    }
    return block;
  }

  /** Caches a block, evicting the least recently used ones until it fits. */
  set(id: string, block: Buffer): void {
    if (block.length > this.#maxBytes) return;
    this.delete(id);
    while (this.#bytes + block.length > this.#maxBytes) {
      const oldest = this.#blocks.keys().next().value as string;
      this.delete(oldest);
    }
    this.#blocks.set(id, block);
    this.#bytes += block.length;
  }

  /** Drops every block. */
  clear(): void {
    this.#blocks.clear();
    this.#bytes = 0;
  }

  private delete(id: string): void {
    const block = this.#blocks.get(id);
    if (!block) return;
    this.#blocks.delete(id);
    this.#bytes -= block.length;
  }
}

import { AlreadyExistsError, IntegrityError, NotFoundError } from "../../lib/errors.ts";
import type { ByteRange, ObjectInfo, ObjectStore } from "../../lib/ports/object-store.ts";

/** A minimal in-memory {@link ObjectStore} for unit tests of the engine's pure parts. */
export class MemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, Buffer>();

  async put(key: string, data: Uint8Array): Promise<void> {
    if (this.objects.has(key)) throw new AlreadyExistsError(`${key} exists`);
    this.objects.set(key, Buffer.from(data));
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    const data = this.objects.get(key);
    if (!data) throw new NotFoundError(`${key} not found`);
    if (!range) return Buffer.from(data);
    if (range.offset + range.length > data.length) throw new IntegrityError(`${key}: range past the end`);
    return Buffer.from(data.subarray(range.offset, range.offset + range.length));
  }

  async head(key: string): Promise<ObjectInfo> {
    const data = this.objects.get(key);
    if (!data) throw new NotFoundError(`${key} not found`);
    return { key, size: data.length };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const [key, data] of [...this.objects]) if (key.startsWith(prefix)) yield { key, size: data.length };
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
}

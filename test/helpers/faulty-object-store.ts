import type { ByteRange, ObjectInfo, ObjectStore } from "../../lib/ports/object-store.ts";
import type { FaultPlan } from "./fault-plan.ts";

/** An {@link ObjectStore} decorator that counts calls and fails the ones its plan picks. */
export class FaultyObjectStore implements ObjectStore {
  private readonly inner: ObjectStore;
  private readonly plan: FaultPlan;

  constructor(inner: ObjectStore, plan: FaultPlan) {
    this.inner = inner;
    this.plan = plan;
  }

  put(key: string, data: Uint8Array): Promise<void> {
    return this.plan.run("store", "put", key, () => this.inner.put(key, data));
  }

  get(key: string, range?: ByteRange): Promise<Buffer> {
    return this.plan.run("store", "get", key, () => this.inner.get(key, range));
  }

  head(key: string): Promise<ObjectInfo> {
    return this.plan.run("store", "head", key, () => this.inner.head(key));
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // The fault fires when listing starts; a lost response still lists nothing to the caller.
    const all = await this.plan.run("store", "list", prefix, async () => {
      const out: ObjectInfo[] = [];
      for await (const info of this.inner.list(prefix)) out.push(info);
      return out;
    });
    yield* all;
  }

  delete(key: string): Promise<void> {
    return this.plan.run("store", "delete", key, () => this.inner.delete(key));
  }
}

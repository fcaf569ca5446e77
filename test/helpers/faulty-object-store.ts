import type { ByteRange, ObjectInfo, ObjectStore, StagingArea } from "../../lib/ports/object-store.ts";
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

  /**
   * The inner store's staging areas. A staged put is a put like any other to the plan (method
   * `put`, its key), so every fault a put can suffer, a pack stored from a staged file suffers
   * too. Closing an area is not a call of the store's: it only removes local files.
   */
  async stage(): Promise<StagingArea | undefined> {
    const area = await this.plan.run("store", "stage", "", async () => this.inner.stage?.());
    if (!area) return undefined;
    return {
      directory: area.directory,
      put: (key, name) => this.plan.run("store", "put", key, () => area.put(key, name)),
      close: () => area.close(),
    };
  }
}

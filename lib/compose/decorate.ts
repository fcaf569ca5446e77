import { LimitedObjectStore } from "../decorators/limited-object-store.ts";
import { RetryingCatalog } from "../decorators/retrying-catalog.ts";
import { RetryingKeyService } from "../decorators/retrying-key-service.ts";
import { RetryingObjectStore } from "../decorators/retrying-object-store.ts";
import { retryingReferences } from "../decorators/retrying-references.ts";
import type { VaultDeps } from "../engine/store/vault-config.ts";
import type { ObjectStore } from "../ports/object-store.ts";

/** How the shared decorators are set for one runtime. */
export interface DecoratorSettings {
  /**
   * Most object-store calls in flight at once: bounds open files or sockets and buffered
   * requests however widely the engine fans out.
   */
  readonly storeConcurrency: number;
}

/**
 * The object store as the engine sees it: capped in concurrency, then retried on transient
 * errors (the retry sits outside the cap, so a waiting retry holds no permit).
 */
export function decorateStore(store: ObjectStore, settings: DecoratorSettings): ObjectStore {
  return new RetryingObjectStore(new LimitedObjectStore(store, settings.storeConcurrency));
}

/**
 * Every runtime's decorators over the ports its adapters built (`raw`, undecorated): the store capped and retried,
 * the catalog, key service and reference store retried. The one place that decides which
 * decorator wraps which port, so the runtimes cannot drift apart.
 */
export function decoratePorts(raw: VaultDeps, settings: DecoratorSettings): VaultDeps {
  return {
    ...raw,
    store: decorateStore(raw.store, settings),
    catalog: new RetryingCatalog(raw.catalog),
    keys: new RetryingKeyService(raw.keys),
    ...(raw.references ? { references: retryingReferences(raw.references) } : {}),
  };
}

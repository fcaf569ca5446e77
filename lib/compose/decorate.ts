import { openFileTarget } from "../adapters/local/targets/file-target.ts";
import { LimitedObjectStore } from "../decorators/limited-object-store.ts";
import { limitedLocalObjectFiles, retryingLocalObjectFiles } from "../decorators/local-object-files.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "../decorators/retry.ts";
import { retryingCatalog } from "../decorators/retrying-catalog.ts";
import { RetryingKeyService } from "../decorators/retrying-key-service.ts";
import { RetryingObjectStore } from "../decorators/retrying-object-store.ts";
import { retryingReferences } from "../decorators/retrying-references.ts";
import type { VaultDeps } from "../engine/store/vault-config.ts";
import type { LocalFiles, LocalObjectFiles } from "../ports/local-files.ts";
import { Semaphore } from "../util/semaphore.ts";

/** How the shared decorators are set for one runtime. */
export interface DecoratorSettings {
  /**
   * Most object-store calls in flight at once: bounds open files or sockets and buffered
   * requests however widely the engine fans out.
   */
  readonly storeConcurrency: number;
  /** Attempts, backoff and timers of every retrying decorator; the default policy unless given. */
  readonly retry?: RetryPolicy;
}

/** The ports as a runtime's adapters built them, before any decorator. */
export interface RawPorts extends Omit<VaultDeps, "localFiles"> {
  /** The store's objects as local files, when the store is on this machine (the same objects). */
  readonly objectFiles?: LocalObjectFiles;
}

/**
 * Every runtime's decorators over the ports its adapters built (`raw`, undecorated): the store
 * capped in concurrency, then retried on transient errors (outside the cap, so a waiting retry
 * holds no permit); the catalog, key service and reference store retried. Beside them the local
 * files capability, the store's files decorated alike and sharing the store's permits. The one
 * place that decides which decorator wraps which port, so the runtimes cannot drift apart.
 */
export function decoratePorts(raw: RawPorts, settings: DecoratorSettings): VaultDeps {
  const { objectFiles, ...ports } = raw;
  const permits = new Semaphore(settings.storeConcurrency);
  const policy = settings.retry ?? DEFAULT_RETRY_POLICY;
  const files =
    objectFiles && retryingLocalObjectFiles(limitedLocalObjectFiles(objectFiles, permits), policy);
  return {
    ...ports,
    store: new RetryingObjectStore(new LimitedObjectStore(raw.store, permits), policy),
    localFiles: localFiles(files),
    catalog: retryingCatalog(raw.catalog, policy),
    keys: new RetryingKeyService(raw.keys, policy),
    ...(raw.references ? { references: retryingReferences(raw.references, policy) } : {}),
  };
}

/**
 * The local files capability of a runtime on this machine: file restore targets always (the CLI
 * restores to files whether the vault is embedded or on AWS), the store's objects as files when
 * the store is local.
 */
export function localFiles(objects: LocalObjectFiles | undefined): LocalFiles {
  return { ...(objects ? { objects } : {}), openFileTarget };
}

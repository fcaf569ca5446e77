import { FsObjectArchive } from "../../lib/adapters/local/fs-object-archive.ts";
import { FsObjectStore } from "../../lib/adapters/local/fs-object-store.ts";
import { KeyringFileKeyService, loadKeyring } from "../../lib/adapters/local/keyring.ts";
import { localVaultPaths } from "../../lib/adapters/local/local-vault.ts";
import { openSqliteCatalog } from "../../lib/adapters/local/sqlite-catalog.ts";
import { LimitedObjectStore } from "../../lib/decorators/limited-object-store.ts";
import { retryPolicy } from "../../lib/decorators/retry.ts";
import { retryingCatalog } from "../../lib/decorators/retrying-catalog.ts";
import { RetryingKeyService } from "../../lib/decorators/retrying-key-service.ts";
import { RetryingObjectStore } from "../../lib/decorators/retrying-object-store.ts";
import { retryingReferences } from "../../lib/decorators/retrying-references.ts";
import type { Clock } from "../../lib/ports/clock.ts";
import type { RestoreTarget } from "../../lib/ports/restore-target.ts";
import type { VolumeSource } from "../../lib/ports/volume-source.ts";
import { Vault } from "../../lib/vault.ts";
import type { FaultPlan } from "./fault-plan.ts";
import { withFaults } from "./fault-proxy.ts";

/** The production retry schedule without its waits: a retried call is repeated at once. */
const NO_WAIT = retryPolicy({ sleep: async () => {}, random: () => 0 });

/**
 * Opens the embedded vault in `dir` on the same stack `openLocalVault` builds, with the fault
 * proxy placed directly over each adapter, under the retrying decorators:
 *
 *   store:      Retrying(Limited(faults(FsObjectArchive(FsObjectStore))))
 *   catalog:    Catalog(faults(SqliteCatalog))
 *   keys:       RetryingKeyService(faults(KeyringFileKeyService))
 *   references: retryingReferences(faults(SqliteReferenceStore))
 *
 * So a transient fault is what the retrying decorator of its port sees, exactly as a throttled
 * request or a busy database would be; a fatal one passes through it to the engine. The clock is
 * not wrapped: it has no failure to inject. The plan is armed by the caller once the vault is
 * open, so opening is not counted.
 */
export async function openFaultyVault(dir: string, plan: FaultPlan, clock: Clock): Promise<Vault> {
  const paths = localVaultPaths(dir);
  const { keyService } = await loadKeyring(paths.keyring);
  const sqlite = openSqliteCatalog(paths.catalog);
  const store = new FsObjectArchive(new FsObjectStore(paths.objects), { clock });
  const keys = new KeyringFileKeyService(paths.keyring, keyService, clock);
  const deps = {
    store: new RetryingObjectStore(
      new LimitedObjectStore(withFaults(store, "store", plan, { nested: ["stage"] }), 32),
      NO_WAIT,
    ),
    catalog: retryingCatalog(withFaults(sqlite, "catalog", plan, { exempt: ["references"] }), NO_WAIT),
    keys: new RetryingKeyService(withFaults(keys, "keys", plan), NO_WAIT),
    clock,
    references: retryingReferences(withFaults(sqlite.references(), "references", plan), NO_WAIT),
  };
  try {
    return await Vault.open(deps, () => sqlite.close());
  } catch (err) {
    await sqlite.close();
    throw err;
  }
}

/** A volume source whose reads, range queries and close are calls of port `source`. */
export function faultySource(source: VolumeSource, plan: FaultPlan): VolumeSource {
  return withFaults(source, "source", plan);
}

/** A restore target whose writes, flushes, commit and abort are calls of port `target`. */
export function faultyTarget(target: RestoreTarget, plan: FaultPlan): RestoreTarget {
  return withFaults(target, "target", plan);
}

import { join } from "node:path";
import { FsObjectStore } from "../../lib/adapters/local/fs-object-store.ts";
import { loadKeyring } from "../../lib/adapters/local/keyring.ts";
import { openSqliteCatalog, type SqliteCatalog } from "../../lib/adapters/local/sqlite-catalog.ts";
import { localFiles } from "../../lib/compose/decorate.ts";
import { localVaultPaths } from "../../lib/compose/local.ts";
import type { VaultDeps } from "../../lib/engine/store/vault-config.ts";
import { systemClock } from "../../lib/ports/clock.ts";

/** The real local ports of the vault in `dir`, so tests can wrap them before opening the vault. */
export interface LocalPorts {
  /** Undecorated, with the local files capability over `store` (so the engine's fast paths run). */
  readonly deps: VaultDeps;
  readonly store: FsObjectStore;
  readonly catalog: SqliteCatalog;
  readonly objectsDir: string;
}

/** Opens the local adapters of an existing embedded vault (the caller closes `catalog`). */
export async function openLocalPorts(dir: string): Promise<LocalPorts> {
  const paths = localVaultPaths(dir);
  const { keyService } = await loadKeyring(paths.keyring);
  const catalog = openSqliteCatalog(paths.catalog);
  const store = new FsObjectStore(paths.objects);
  return {
    store,
    deps: {
      store,
      localFiles: localFiles(store),
      catalog,
      keys: keyService,
      clock: systemClock,
      references: catalog.references(),
    },
    catalog,
    objectsDir: join(paths.dir, "objects"),
  };
}

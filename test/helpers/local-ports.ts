import { join } from "node:path";
import { FsObjectStore } from "../../lib/adapters/local/fs-object-store.ts";
import { loadKeyring } from "../../lib/adapters/local/keyring.ts";
import { localVaultPaths } from "../../lib/adapters/local/local-vault.ts";
import { openSqliteCatalog, type SqliteCatalog } from "../../lib/adapters/local/sqlite-catalog.ts";
import type { VaultDeps } from "../../lib/engine/store/vault-config.ts";
import { systemClock } from "../../lib/ports/clock.ts";

/** The real local ports of the vault in `dir`, so tests can wrap them before opening the vault. */
export interface LocalPorts {
  readonly deps: VaultDeps;
  readonly catalog: SqliteCatalog;
  readonly objectsDir: string;
}

/** Opens the local adapters of an existing embedded vault (the caller closes `catalog`). */
export async function openLocalPorts(dir: string): Promise<LocalPorts> {
  const paths = localVaultPaths(dir);
  const { keyService } = await loadKeyring(paths.keyring);
  const catalog = openSqliteCatalog(paths.catalog);
  return {
    deps: {
      store: new FsObjectStore(paths.objects),
      catalog,
      keys: keyService,
      clock: systemClock,
      references: catalog.references(),
    },
    catalog,
    objectsDir: join(paths.dir, "objects"),
  };
}

import { chmod, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { FsObjectArchive } from "../adapters/local/fs-object-archive.ts";
import { FsObjectStore } from "../adapters/local/fs-object-store.ts";
import { createKeyring, KeyringFileKeyService, loadKeyring } from "../adapters/local/keyring.ts";
import { filePrincipalStore } from "../adapters/local/principals.ts";
import { openSqliteCatalog } from "../adapters/local/sqlite-catalog.ts";
import { type LocalVaultPaths, localVaultPaths, ownFiles } from "../adapters/local/vault-paths.ts";
import type { InitOptions, VaultDeps } from "../engine/store/vault-config.ts";
import { AlreadyExistsError, NotFoundError } from "../errors.ts";
import { type Clock, systemClock } from "../ports/clock.ts";
import type { KeyService } from "../ports/key-service.ts";
import { Vault } from "../vault.ts";
import { decoratePorts, type RawPorts } from "./decorate.ts";

export { type LocalVaultPaths, localVaultPaths };

/** Options for the embedded vault helpers. */
export interface LocalVaultOptions {
  readonly keyring?: string;
  readonly clock?: Clock;
}

/**
 * Most object-store calls in flight at once. Restores and index loads fan out widely; the cap
 * keeps the open descriptors well below a default `ulimit -n` (an EMFILE would only be retried).
 */
const LOCAL_STORE_CONCURRENCY = 32;

/** The embedded vault's ports, decorated, and what closes them. */
interface LocalPorts {
  readonly deps: VaultDeps;
  readonly close: () => Promise<void>;
}

/**
 * The embedded runtime's ports: the filesystem store with its archive tier (an archived pack is
 * unreadable until rehydrated, exactly as on S3, so tiering and restores behave the same), the
 * SQLite catalog and its reference store, the keyring, and the principals file.
 */
function localPorts(paths: LocalVaultPaths, keys: KeyService, clock: Clock): LocalPorts {
  const catalog = openSqliteCatalog(paths.catalog);
  const store = new FsObjectArchive(new FsObjectStore(paths.objects, { clock }), { clock });
  const raw: RawPorts = {
    store,
    objectFiles: store,
    catalog,
    keys,
    clock,
    references: catalog.references(),
    ownFiles: ownFiles(paths),
    principals: filePrincipalStore(paths.principals),
  };
  return {
    deps: decoratePorts(raw, { storeConcurrency: LOCAL_STORE_CONCURRENCY }),
    close: () => catalog.close(),
  };
}

/** Runs `start` on the ports; on failure closes them before rethrowing. */
async function started(ports: LocalPorts, start: (p: LocalPorts) => Promise<Vault>): Promise<Vault> {
  try {
    return await start(ports);
  } catch (err) {
    await ports.close();
    throw err;
  }
}

/**
 * Creates an embedded vault in `dir` (which must be absent or empty): a new keyring, the object
 * store, the catalog and the vault's config.
 */
export async function initLocalVault(
  dir: string,
  init: InitOptions,
  options: LocalVaultOptions = {},
): Promise<Vault> {
  const paths = localVaultPaths(dir, options.keyring);
  const existing = await stat(join(paths.objects, "config")).catch(() => undefined);
  if (existing) throw new AlreadyExistsError(`${paths.dir} already holds a vault`);
  // The vault's directory and everything in it are its owner's only.
  await mkdir(paths.objects, { recursive: true, mode: 0o700 });
  await chmod(paths.dir, 0o700);
  const clock = options.clock ?? systemClock;
  const keys = await createKeyring(paths.keyring, clock);
  const ports = localPorts(paths, new KeyringFileKeyService(paths.keyring, keys, clock), clock);
  return started(ports, ({ deps, close }) => Vault.init(deps, init, close));
}

/** Opens the embedded vault in `dir`, with a clear error when it is not one. */
export async function openLocalVault(dir: string, options: LocalVaultOptions = {}): Promise<Vault> {
  const paths = localVaultPaths(dir, options.keyring);
  const config = await stat(join(paths.objects, "config")).catch(() => undefined);
  if (!config) {
    throw new NotFoundError(
      `${paths.dir} is not a blockvault vault (run "blockvault init --vault ${dir}" first)`,
    );
  }
  const { keyService } = await loadKeyring(paths.keyring);
  const clock = options.clock ?? systemClock;
  // Bound to the file, so that a key rotation reaches it and a reopened vault has every key.
  const keys = new KeyringFileKeyService(paths.keyring, keyService, clock);
  return started(localPorts(paths, keys, clock), ({ deps, close }) => Vault.open(deps, close));
}

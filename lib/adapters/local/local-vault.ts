import { chmod, mkdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { LimitedObjectStore } from "../../decorators/limited-object-store.ts";
import { retryingCatalog } from "../../decorators/retrying-catalog.ts";
import { RetryingKeyService } from "../../decorators/retrying-key-service.ts";
import { RetryingObjectStore } from "../../decorators/retrying-object-store.ts";
import { retryingReferences } from "../../decorators/retrying-references.ts";
import type { InitOptions } from "../../engine/store/vault-config.ts";
import { AlreadyExistsError, NotFoundError } from "../../errors.ts";
import type { VaultFiles } from "../../model.ts";
import { type Clock, systemClock } from "../../ports/clock.ts";
import type { ObjectStore } from "../../ports/object-store.ts";
import { Vault } from "../../vault.ts";
import { FsObjectArchive } from "./fs-object-archive.ts";
import { FsObjectStore } from "./fs-object-store.ts";
import { createKeyring, KeyringFileKeyService, loadKeyring } from "./keyring.ts";
import { filePrincipalStore } from "./principals.ts";
import { openSqliteCatalog } from "./sqlite-catalog.ts";

/** Where an embedded vault keeps its parts inside its directory. */
export interface LocalVaultPaths {
  readonly dir: string;
  /** The object store: config, packs, index, manifests. */
  readonly objects: string;
  /** The SQLite catalog. */
  readonly catalog: string;
  /** The keyring holding the master key (mode 0600). Keep a copy somewhere else: without it the vault is unreadable. */
  readonly keyring: string;
  /** API principals and their roles (absent: single-user, the caller is the owner). */
  readonly principals: string;
}

/** The files of the vault at `paths` that no restore may write: all of its directory, and the keyring. */
function ownFiles(paths: LocalVaultPaths): VaultFiles {
  return {
    directories: [paths.dir],
    files: [paths.catalog, `${paths.catalog}-wal`, `${paths.catalog}-shm`, paths.keyring, paths.principals],
  };
}

/** The layout of an embedded vault in `dir`; the keyring may live elsewhere. */
export function localVaultPaths(dir: string, keyring?: string): LocalVaultPaths {
  const root = resolve(dir);
  return {
    dir: root,
    objects: join(root, "objects"),
    catalog: join(root, "catalog.sqlite"),
    keyring: keyring ? resolve(keyring) : join(root, "keyring.json"),
    principals: join(root, "principals.json"),
  };
}

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

/**
 * The filesystem store as the engine sees it: capped in concurrency, retried on transient errors.
 * Objects can be tiered (the embedded runtime's archive storage class): an archived pack is
 * unreadable until rehydrated, exactly as on S3, so tiering and restores behave the same.
 */
function localStore(root: string, clock: Clock): ObjectStore {
  const store = new FsObjectArchive(new FsObjectStore(root, { clock }), { clock });
  return new RetryingObjectStore(new LimitedObjectStore(store, LOCAL_STORE_CONCURRENCY));
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
  const catalog = openSqliteCatalog(paths.catalog);
  const deps = {
    store: localStore(paths.objects, clock),
    catalog: retryingCatalog(catalog),
    keys: new RetryingKeyService(new KeyringFileKeyService(paths.keyring, keys, clock)),
    clock,
    references: retryingReferences(catalog.references()),
    ownFiles: ownFiles(paths),
    principals: filePrincipalStore(paths.principals),
  };
  try {
    return await Vault.init(deps, init, () => catalog.close());
  } catch (err) {
    await catalog.close();
    throw err;
  }
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
  const catalog = openSqliteCatalog(paths.catalog);
  const deps = {
    store: localStore(paths.objects, clock),
    catalog: retryingCatalog(catalog),
    // Bound to the file, so that a key rotation reaches it and a reopened vault has every key.
    keys: new RetryingKeyService(new KeyringFileKeyService(paths.keyring, keyService, clock)),
    clock,
    references: retryingReferences(catalog.references()),
    ownFiles: ownFiles(paths),
    principals: filePrincipalStore(paths.principals),
  };
  try {
    return await Vault.open(deps, () => catalog.close());
  } catch (err) {
    await catalog.close();
    throw err;
  }
}

import { join, resolve } from "node:path";
import type { VaultFiles } from "../../model.ts";

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

/** The files of the vault at `paths` that no restore may write: all of its directory, and the keyring. */
export function ownFiles(paths: LocalVaultPaths): VaultFiles {
  return {
    directories: [paths.dir],
    files: [paths.catalog, `${paths.catalog}-wal`, `${paths.catalog}-shm`, paths.keyring, paths.principals],
  };
}

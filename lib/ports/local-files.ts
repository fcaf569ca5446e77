import type { RestoreFormat, VaultFiles } from "../model.ts";
import type { RestoreTarget } from "./restore-target.ts";

/**
 * What a runtime on one machine can do with local files, beside the byte-oriented ports: the
 * engine's worker threads then read and write files themselves instead of moving every block
 * through the main thread. A capability, not part of any port: the composition root hands it to
 * the vault next to the store (`VaultDeps.localFiles`), so a decorator over the store, a source
 * or a target never has to forward it, and the engine asks for it explicitly.
 */
export interface LocalFiles {
  /** The object store's objects as local files; absent when the store is not on this machine. */
  readonly objects?: LocalObjectFiles;
  /**
   * Opens a new local file as a restore target (written to a hidden temporary file beside `path`
   * and renamed into place on commit). An existing file is refused unless `force`; the protected
   * paths and the vault's own files are refused always.
   */
  openFileTarget(path: string, size: number, options?: FileTargetOptions): Promise<RestoreTarget>;
}

/** Options of {@link LocalFiles.openFileTarget}. */
export interface FileTargetOptions {
  /** The file's format (default raw); `size` stays the disk's. */
  readonly format?: RestoreFormat;
  /** Replace an existing file at the path. */
  readonly force?: boolean;
  /** Paths that must never be written (the disk's source image). */
  readonly protectedPaths?: readonly string[];
  /** The vault's own files and directories, refused always (see {@link VaultFiles}). */
  readonly vaultFiles?: VaultFiles;
}

/**
 * The objects of a store on this machine's filesystem, as files.
 *
 * Contract, kept by the filesystem store and checked by `test/contract/local-staging.test.ts`:
 * - `localPath` names a local file holding the object's bytes, for readers that read it directly
 *   (the engine's worker threads, without copies through the main thread). It resolves to
 *   undefined when the object cannot be read as is right now (archived), so the caller uses the
 *   store's `get` and gets that method's error. The file is the object: it is never written to,
 *   and a missing file is a missing object.
 * - `stage` opens a {@link StagingArea}: a private local directory where a writer on this machine
 *   builds objects as files and then stores them without handing their bytes over in memory (the
 *   engine's worker threads write packs this way). It resolves to undefined when the store cannot
 *   take files right now; the caller then uses the store's `put`.
 */
export interface LocalObjectFiles {
  localPath(key: string): Promise<string | undefined>;
  stage(): Promise<StagingArea | undefined>;
}

/**
 * A directory of the store's own filesystem, private to whoever opened it, where objects are built
 * as files before they are stored (see {@link LocalObjectFiles}). Files in it are never objects:
 * only {@link put} makes one.
 */
export interface StagingArea {
  /** Absolute path of the directory; the user names the files it makes in it. */
  readonly directory: string;
  /**
   * Stores file `name` of the directory as object `key`, with the store's `put` contract (atomic,
   * create-only: `AlreadyExistsError` when the key exists, durable once it resolves). The file is
   * gone afterwards whether it was stored or not, so a failed call is never retried: the bytes
   * have to be written again.
   */
  put(key: string, name: string): Promise<void>;
  /** Removes the directory and any file still in it; idempotent. */
  close(): Promise<void>;
}

/**
 * The key under which a volume source or restore target that is a local file offers its
 * {@link LocalFile}. A symbol, so no byte-oriented port declares it and wrappers built with
 * `overriding` (which forward every member) keep it.
 */
export const LOCAL_FILE: unique symbol = Symbol.for("blockvault.local-file");

/**
 * A source's or target's bytes as an open local file descriptor, at offsets [0, size): the
 * engine's worker threads read a source with positional reads (hashing and sealing blocks where
 * they land) and write a target's verified blocks with positional writes, which is equivalent to
 * the port's `read`/`write`. It stays valid until the source is closed or the target committed
 * or aborted; bytes past `size` (a VHD footer) are never read through it.
 */
export interface LocalFile {
  readonly fd: number;
}

/** A port that may offer its bytes as a {@link LocalFile}. */
export interface WithLocalFile {
  /** The file, or undefined once it is closing. */
  readonly [LOCAL_FILE]: LocalFile | undefined;
}

/** The {@link LocalFile} a source or target offers, if any: how the engine discovers the capability. */
export function localFileOf(port: object): LocalFile | undefined {
  return (port as Partial<WithLocalFile>)[LOCAL_FILE];
}

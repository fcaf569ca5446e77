import { randomUUID } from "node:crypto";
import type { Dirent } from "node:fs";
import {
  chmod,
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  rm,
  stat,
  unlink,
  utimes,
} from "node:fs/promises";
import path from "node:path";
import {
  AlreadyExistsError,
  IntegrityError,
  NotFoundError,
  RetainedObjectError,
  ValidationError,
} from "../../errors.ts";
import { type Clock, systemClock } from "../../ports/clock.ts";
import type { LocalObjectFiles, StagingArea } from "../../ports/local-files.ts";
import {
  type ByteRange,
  checkRetention,
  isValidObjectKey,
  type ObjectInfo,
  type ObjectRetention,
  type ObjectStore,
  type RetentionMode,
} from "../../ports/object-store.ts";
import { heartbeatEveryMs } from "../../util/liveness.ts";
import { errnoCode, translateFsError } from "./fs-errors.ts";
import { isDirectory, readExactly, syncDirectory, syncFile, writeDurably } from "./fs-io.ts";
import { FsRetention } from "./fs-retention.ts";

/** Top-level directory holding in-flight writes; reserved, never listed, never a key. */
const TMP_DIR = ".tmp";

/**
 * A stored object's mode: read-only, owner only. Objects never change (I4), so nothing needs to
 * write one, and a stray write (an editor, a mistaken `dd`) is refused. Deleting one needs write
 * permission on its directory only, which the owner keeps.
 */
export const OBJECT_MODE = 0o400;
/** Every directory the store makes: the owner's only. */
export const DIRECTORY_MODE = 0o700;

/**
 * An {@link ObjectStore} on a local (or mounted) filesystem: each object is a file under `root`
 * at its key's path, so `packs/ab/12` lives at `<root>/packs/ab/12`.
 *
 * `put` writes the bytes to a uniquely named file in `<root>/.tmp/`, fsyncs it, then hard-links
 * it into place. `link` fails atomically when the target exists, which gives create-only
 * semantics without a lock, and a reader can only ever open a complete file. The filesystem must
 * therefore support hard links, and `.tmp` must be on the same filesystem as the objects.
 *
 * Filesystem limits the contract does not impose on other stores:
 * - a key cannot also be a "directory" of other keys (`a/b` and `a/b/c`); storing the second is
 *   a `ValidationError`;
 * - a top-level `.tmp` segment is reserved;
 * - on a case-insensitive filesystem, keys differing only in case collide.
 * A process killed mid-`put`, or with a staging area open, can leave a file or a `stage-*`
 * directory in `.tmp/`; neither is ever visible as an object. An open staging directory's time
 * is renewed every quarter of the liveness window, so `removeLeftovers` can tell a dead writer's
 * directory (untouched for longer than the window) from a live one's.
 */
export class FsObjectStore implements ObjectStore, LocalObjectFiles {
  /** Absolute path of the directory holding the objects. */
  readonly root: string;
  /**
   * Directories this store made or found, so a put does not ask again: a backup puts a pack every
   * few milliseconds, and every filesystem call is a round trip through Node's thread pool. A
   * directory removed behind the store's back is made again when a put finds it missing.
   */
  readonly #dirs = new Set<string>();
  /** Retention records (see {@link FsRetention}), kept under the root beside the objects. */
  readonly #retention: FsRetention;
  /** What "before its retention ends" is measured against. */
  readonly #clock: Clock;

  /**
   * @param root directory holding the objects; created on first `put` if missing.
   * @param options.clock the time retention is compared with; the system clock by default.
   */
  constructor(root: string, options: { readonly clock?: Clock } = {}) {
    this.root = path.resolve(root);
    this.#retention = new FsRetention(this.root);
    this.#clock = options.clock ?? systemClock;
  }

  /** Stores `data` under `key`; see {@link ObjectStore} for the atomic, create-only contract. */
  async put(key: string, data: Uint8Array): Promise<void> {
    const file = this.#pathOf(key);
    const tmpDir = path.join(this.root, TMP_DIR);
    const tmp = path.join(tmpDir, `${randomUUID()}.tmp`);
    try {
      await this.#inDir(
        tmpDir,
        () => mkdir(tmpDir, { recursive: true, mode: DIRECTORY_MODE }),
        // Created read-only: the descriptor that creates it may still write it.
        () => writeDurably(tmp, data, OBJECT_MODE),
      );
      await this.#linkInPlace(key, file, tmp);
    } catch (err) {
      throw translateFsError(err, `put object ${key}`);
    } finally {
      // The link (if made) holds the data; the temporary name is never needed after this call.
      await unlink(tmp).catch(() => undefined);
    }
  }

  /**
   * A staging directory of its own under `.tmp/` (see {@link StagingArea}): its files become
   * objects by the same hard link as `put`'s temporary files, after an fsync.
   */
  async stage(): Promise<StagingArea> {
    const tmpDir = path.join(this.root, TMP_DIR);
    const directory = path.join(tmpDir, `stage-${randomUUID()}`);
    try {
      await mkdir(directory, { recursive: true, mode: DIRECTORY_MODE });
    } catch (err) {
      throw translateFsError(err, "open a staging directory");
    }
    // The directory's time says its writer is alive (see removeLeftovers).
    const keepFresh = setInterval(() => {
      const now = new Date();
      utimes(directory, now, now).catch(() => undefined);
    }, heartbeatEveryMs());
    keepFresh.unref();
    return {
      directory,
      put: (key, name) => this.#putStaged(key, directory, name),
      close: () => {
        clearInterval(keepFresh);
        return rm(directory, { recursive: true, force: true });
      },
    };
  }

  /**
   * Removes what dead writers left in `.tmp/`: temporary files of interrupted puts and staging
   * directories, untouched for at least `minAgeMs` (compared with this machine's clock, which
   * also stamped them). Returns how many it removed.
   */
  async removeLeftovers(minAgeMs: number): Promise<number> {
    const tmpDir = path.join(this.root, TMP_DIR);
    let names: string[];
    try {
      names = await readdir(tmpDir);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return 0;
      throw translateFsError(err, "list leftovers of interrupted writes");
    }
    const before = Date.now() - minAgeMs;
    let removed = 0;
    for (const name of names) {
      const entry = path.join(tmpDir, name);
      const info = await lstat(entry).catch(() => undefined);
      if (!info || info.mtimeMs > before) continue;
      await rm(entry, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  async #putStaged(key: string, directory: string, name: string): Promise<void> {
    // Checked before anything touches the name: the cleanup below removes whatever it names.
    if (name === "" || path.basename(name) !== name || name === "." || name === "..") {
      throw new ValidationError(
        `put object ${key}: staged file name ${JSON.stringify(name)} is not a plain file name`,
      );
    }
    const tmp = path.join(directory, name);
    try {
      const file = this.#pathOf(key);
      await syncFile(tmp);
      // The worker wrote it with its own descriptor (0600); as an object it is read-only.
      await chmod(tmp, OBJECT_MODE);
      await this.#linkInPlace(key, file, tmp);
    } catch (err) {
      throw translateFsError(err, `put object ${key} from staged file ${name}`);
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  /** Links the complete, synced file `tmp` to `file` (create-only), then syncs its directory. */
  async #linkInPlace(key: string, file: string, tmp: string): Promise<void> {
    try {
      await this.#inDir(
        path.dirname(file),
        () => this.#makeParent(key, file),
        () => link(tmp, file),
      );
    } catch (err) {
      if (errnoCode(err) === "EEXIST") throw await existsError(key, file, err);
      throw err;
    }
    // Why: without syncing the directory, a power loss may forget the new name even though
    // the data blocks were flushed.
    await syncDirectory(path.dirname(file));
  }

  /** The file holding the object (which may not exist); see {@link ObjectStore}. */
  async localPath(key: string): Promise<string> {
    return this.#pathOf(key);
  }

  /** Reads the whole object, or exactly `range` of it; see {@link ObjectStore}. */
  async get(key: string, range?: ByteRange): Promise<Buffer> {
    const file = this.#pathOf(key);
    if (range !== undefined) checkRange(range);
    let handle: FileHandle | undefined;
    try {
      handle = await open(file, "r");
      const info = await handle.stat();
      if (!info.isFile()) throw new NotFoundError(`get object ${key}: not found`);
      if (range === undefined) return await handle.readFile();
      const end = range.offset + range.length;
      if (end > info.size) {
        throw new IntegrityError(
          `get object ${key}: range ${range.offset}+${range.length} (end ${end}) reaches past the end of the ${info.size}-byte object`,
        );
      }
      return await readExactly(handle, key, range.offset, range.length);
    } catch (err) {
      throw translateFsError(err, `get object ${key}`);
    } finally {
      await handle?.close();
    }
  }

  /** The object's key and size; `NotFoundError` if it is missing. */
  async head(key: string): Promise<ObjectInfo> {
    const file = this.#pathOf(key);
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new NotFoundError(`head object ${key}: not found`);
      return { key, size: info.size, modified: info.mtimeMs };
    } catch (err) {
      throw translateFsError(err, `head object ${key}`);
    }
  }

  /**
   * Every object whose key starts with `prefix`, walking only the directories that can match.
   * A prefix no valid key can start with (`/a`, `a//`, `a/../`) is a `ValidationError`.
   */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    if (prefix !== "" && !isValidObjectKey(`${prefix}x`)) {
      throw new ValidationError(`invalid object key prefix ${JSON.stringify(prefix)}`);
    }
    const slash = prefix.lastIndexOf("/");
    yield* this.#walk(prefix.slice(0, Math.max(slash, 0)), prefix.slice(slash + 1));
  }

  /**
   * Removes the object; a missing key is not an error. A retained object is refused with
   * `RetainedObjectError` until its retention ends.
   */
  async delete(key: string): Promise<void> {
    const file = this.#pathOf(key);
    await this.checkDeletable(key);
    try {
      await unlink(file);
    } catch (err) {
      const code = errnoCode(err);
      if (code === "ENOENT" || code === "ENOTDIR") return;
      // A directory at this path means objects live *under* the key, not at it: nothing to delete.
      if ((code === "EISDIR" || code === "EPERM") && (await isDirectory(file))) return;
      throw translateFsError(err, `delete object ${key}`);
    }
  }

  /**
   * Puts the object under retention until `until` (epoch ms) in at least `mode`, extending and
   * never shortening what holds; see {@link ObjectStore}. Locally both modes refuse `delete`
   * alike: the filesystem store has no way to bypass a retention.
   */
  async retain(key: string, until: number, mode: RetentionMode): Promise<ObjectRetention> {
    checkRetention(key, until, mode);
    await this.head(key);
    try {
      return await this.#retention.extend(key, until, mode);
    } catch (err) {
      throw translateFsError(err, `retain object ${key}`);
    }
  }

  /** The retention recorded for `key` (ended or not), or undefined when none was ever set. */
  async retention(key: string): Promise<ObjectRetention | undefined> {
    this.#pathOf(key);
    try {
      return await this.#retention.of(key);
    } catch (err) {
      throw translateFsError(err, `read the retention of object ${key}`);
    }
  }

  /** Rejects with `RetainedObjectError` while `key` is under a retention that has not ended. */
  async checkDeletable(key: string): Promise<void> {
    const held = await this.retention(key);
    if (held && held.until > this.#clock.now()) {
      throw new RetainedObjectError(
        `delete object ${key}: under ${held.mode} retention until ${new Date(held.until).toISOString()}`,
      );
    }
  }

  /** Yields the objects in directory `dirKey` whose names start with `namePrefix`, recursively. */
  async *#walk(dirKey: string, namePrefix: string): AsyncGenerator<ObjectInfo> {
    const dir = path.join(this.root, ...dirKey.split("/"));
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      // A directory that does not exist (or vanished mid-walk) holds no objects.
      const code = errnoCode(err);
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw translateFsError(err, `list objects under ${dirKey || "the root"}`);
    }
    for (const entry of entries) {
      if (!entry.name.startsWith(namePrefix)) continue;
      if (dirKey === "" && entry.name === TMP_DIR) continue;
      const key = dirKey === "" ? entry.name : `${dirKey}/${entry.name}`;
      // Stray files whose names no key can have (an editor's backup, `lost+found`) are not objects.
      if (!isValidObjectKey(key)) continue;
      if (entry.isDirectory()) {
        yield* this.#walk(key, "");
      } else if (entry.isFile()) {
        const info = await this.head(key).catch((err: unknown) => {
          // Deleted between readdir and stat: it is simply no longer there to list.
          if (err instanceof NotFoundError) return undefined;
          throw err;
        });
        if (info !== undefined) yield info;
      }
    }
  }

  /** Validates `key` and maps it to its file; the only way a key becomes a path. */
  #pathOf(key: string): string {
    if (!isValidObjectKey(key)) throw new ValidationError(`invalid object key ${JSON.stringify(key)}`);
    const parts = key.split("/");
    if (parts[0] === TMP_DIR) {
      throw new ValidationError(`object key ${key} uses the reserved top-level name ${TMP_DIR}`);
    }
    return path.join(this.root, ...parts);
  }

  /**
   * Runs `create` (which makes a file in `dir`), first running `makeDir` if this store has not
   * seen `dir`, and once more after it if the directory turns out to be missing.
   */
  async #inDir<T>(dir: string, makeDir: () => Promise<unknown>, create: () => Promise<T>): Promise<T> {
    if (!this.#dirs.has(dir)) {
      await makeDir();
      this.#dirs.add(dir);
    }
    try {
      return await create();
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw err;
      this.#dirs.delete(dir);
      await makeDir();
      this.#dirs.add(dir);
      return create();
    }
  }

  /** Creates the directories above `file`, refusing when one of them is already an object. */
  async #makeParent(key: string, file: string): Promise<void> {
    try {
      await mkdir(path.dirname(file), { recursive: true, mode: DIRECTORY_MODE });
    } catch (err) {
      const code = errnoCode(err);
      if (code === "EEXIST" || code === "ENOTDIR") {
        throw new ValidationError(
          `object key ${key} cannot be stored: a prefix of it is an existing object, and the filesystem store cannot hold both`,
          { cause: err },
        );
      }
      throw err;
    }
  }
}

/** The error for a `link` that found its target taken: the object exists, or objects live under it. */
async function existsError(key: string, file: string, cause: unknown): Promise<Error> {
  if (await isDirectory(file)) {
    return new ValidationError(
      `object key ${key} cannot be stored: other objects live under ${key}/, and the filesystem store cannot hold both`,
      { cause },
    );
  }
  return new AlreadyExistsError(`object ${key} already exists`, { cause });
}

/** Refuses ranges the port does not allow: negative, fractional, empty or absurdly large. */
function checkRange(range: ByteRange): void {
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 1) {
    throw new ValidationError(`invalid byte range offset=${offset} length=${length}`);
  }
}

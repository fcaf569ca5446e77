import { createHash, randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import { mkdir, readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { ArchivedObjectError, IntegrityError, ValidationError } from "../../errors.ts";
import { type Clock, systemClock } from "../../ports/clock.ts";
import type { LocalObjectFiles, StagingArea } from "../../ports/local-files.ts";
import {
  isArchiveClass,
  type ObjectArchive,
  type RestoreRequest,
  type RestoreState,
  type RestoreTier,
  STORAGE_CLASSES,
  type StorageClass,
} from "../../ports/object-archive.ts";
import {
  type ByteRange,
  isValidObjectKey,
  type ObjectInfo,
  type ObjectRetention,
  type ObjectStore,
  type RetentionMode,
} from "../../ports/object-store.ts";
import { errnoCode, translateFsError } from "./fs-errors.ts";
import { syncDirectory, writeDurably } from "./fs-io.ts";
import type { FsObjectStore } from "./fs-object-store.ts";

/**
 * Directory under the store root holding the archive state. `@` is outside the key alphabet, so
 * no object key can reach it and the store's listing skips it like any stray name.
 */
export const ARCHIVE_STATE_DIR = "@archive";

const DAY_MS = 86_400_000;

/** One object's archive state, as kept in its sidecar file. */
interface Sidecar {
  readonly version: 1;
  readonly key: string;
  readonly storageClass: StorageClass;
  /** The latest restore of an archived object: when its copy is readable, and until when. */
  readonly restore?: { readonly tier: RestoreTier; readonly readyAt: number; readonly expiresAt: number };
}

/** Timing of the simulated archive. */
export interface FsObjectArchiveOptions {
  readonly clock?: Clock;
  /** Milliseconds from a restore request until the copy is readable; 0 (at once) by default. */
  readonly restoreDelayMs?: (tier: RestoreTier, cls: StorageClass) => number;
}

/**
 * The embedded runtime's counterpart of S3 storage classes: an {@link ObjectStore} wrapping an
 * {@link FsObjectStore} that adds the {@link ObjectArchive} capability. The bytes never move;
 * what changes is a sidecar file per tiered object, `<root>/@archive/<sha256(key)>.json`, saying
 * its class and latest restore. An object without a sidecar is `STANDARD`. While an object is in
 * an archive class and not restored, `get` rejects with `ArchivedObjectError`, exactly as S3 does,
 * so tiering and rehydration code paths run for real on a laptop.
 *
 * Sidecars are replaced atomically (write, fsync, rename). Changes to one key's state from several
 * processes at once are last-writer-wins. `delete` removes the sidecar before the object, so a
 * crash in between leaves a readable object, never a new object under the key that looks archived.
 */
export class FsObjectArchive implements ObjectStore, ObjectArchive, LocalObjectFiles {
  readonly store: FsObjectStore;
  readonly #clock: Clock;
  readonly #delay: (tier: RestoreTier, cls: StorageClass) => number;

  constructor(store: FsObjectStore, options: FsObjectArchiveOptions = {}) {
    this.store = store;
    this.#clock = options.clock ?? systemClock;
    this.#delay = options.restoreDelayMs ?? (() => 0);
  }

  /** Stores a new object (see {@link ObjectStore}), in `options.storageClass` when given. */
  async put(
    key: string,
    data: Uint8Array,
    options: { readonly storageClass?: StorageClass } = {},
  ): Promise<void> {
    await this.store.put(key, data);
    // A sidecar left by an object deleted behind our back must not apply to this new one.
    await this.#removeSidecar(key);
    const cls = options.storageClass ?? "STANDARD";
    if (cls !== "STANDARD") await this.#writeSidecar({ version: 1, key, storageClass: cls });
  }

  /** A staging area of the store's whose objects start `STANDARD`, like a plain `put`'s. */
  async stage(): Promise<StagingArea> {
    const area = await this.store.stage();
    return {
      directory: area.directory,
      put: async (key, name) => {
        await area.put(key, name);
        await this.#removeSidecar(key);
      },
      close: () => area.close(),
    };
  }

  /** The store's: what dead writers left in its `.tmp/`. */
  removeLeftovers(minAgeMs: number): Promise<number> {
    return this.store.removeLeftovers(minAgeMs);
  }

  /** Reads the object; `ArchivedObjectError` while it is archived or still being restored. */
  async get(key: string, range?: ByteRange): Promise<Buffer> {
    const state = await this.#state(key);
    if (state === "archived" || state === "restoring") {
      throw new ArchivedObjectError(`get object ${key}: object is ${state}; restore it first`);
    }
    return this.store.get(key, range);
  }

  /** The object's file, unless it is archived or still being restored. */
  async localPath(key: string): Promise<string | undefined> {
    const state = await this.#state(key);
    if (state === "archived" || state === "restoring") return undefined;
    return this.store.localPath(key);
  }

  head(key: string): Promise<ObjectInfo> {
    return this.store.head(key);
  }

  /** The store's retention (see {@link ObjectStore}); tiering leaves it as it is. */
  retain(key: string, until: number, mode: RetentionMode): Promise<ObjectRetention> {
    return this.store.retain(key, until, mode);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.store.list(prefix);
  }

  /**
   * Removes the object and its archive state; a missing key is not an error. A retained object is
   * refused (`AccessDeniedError`) before anything changes, its archive state included.
   */
  async delete(key: string): Promise<void> {
    await this.store.checkDeletable(key);
    await this.#removeSidecar(key);
    await this.store.delete(key);
  }

  async storageClass(key: string): Promise<StorageClass> {
    await this.store.head(key);
    return (await this.#readSidecar(key))?.storageClass ?? "STANDARD";
  }

  /** Changes the recorded class; an archived object must be restored first, as on S3. */
  async setStorageClass(key: string, cls: StorageClass): Promise<void> {
    if (!STORAGE_CLASSES.includes(cls))
      throw new ValidationError(`set storage class of ${key}: unknown ${cls}`);
    await this.store.head(key);
    const sidecar = await this.#readSidecar(key);
    const current = sidecar?.storageClass ?? "STANDARD";
    if (current === cls) return;
    if (isArchiveClass(current) && this.#stateOf(sidecar) !== "restored") {
      throw new ArchivedObjectError(
        `set storage class ${cls} of ${key}: object is archived; restore it first`,
      );
    }
    // Like S3's copy onto itself, the new class starts with no restore history.
    if (cls === "STANDARD") await this.#removeSidecar(key);
    else await this.#writeSidecar({ version: 1, key, storageClass: cls });
  }

  /** Starts (or extends) a restore; idempotent, see {@link ObjectArchive}. */
  async requestRestore(key: string, request: RestoreRequest): Promise<void> {
    if (!Number.isSafeInteger(request.days) || request.days < 1) {
      throw new ValidationError(
        `restore object ${key}: days must be a whole number >= 1, got ${request.days}`,
      );
    }
    await this.store.head(key);
    const sidecar = await this.#readSidecar(key);
    const state = this.#stateOf(sidecar);
    if (sidecar === undefined || state === "online" || state === "restoring") return;
    const now = this.#clock.now();
    const readyAt = state === "restored" ? now : now + this.#delay(request.tier, sidecar.storageClass);
    const restore = { tier: request.tier, readyAt, expiresAt: readyAt + request.days * DAY_MS };
    await this.#writeSidecar({ ...sidecar, restore });
  }

  async restoreState(key: string): Promise<RestoreState> {
    await this.store.head(key);
    return this.#state(key);
  }

  async #state(key: string): Promise<RestoreState> {
    return this.#stateOf(await this.#readSidecar(key));
  }

  #stateOf(sidecar: Sidecar | undefined): RestoreState {
    if (sidecar === undefined || !isArchiveClass(sidecar.storageClass)) return "online";
    const now = this.#clock.now();
    const restore = sidecar.restore;
    if (restore === undefined || now >= restore.expiresAt) return "archived";
    return now < restore.readyAt ? "restoring" : "restored";
  }

  /** Validates `key` and names its sidecar. */
  #sidecarPath(key: string): string {
    if (!isValidObjectKey(key)) throw new ValidationError(`invalid object key ${JSON.stringify(key)}`);
    const name = createHash("sha256").update(key).digest("hex");
    return path.join(this.store.root, ARCHIVE_STATE_DIR, `${name}.json`);
  }

  async #readSidecar(key: string): Promise<Sidecar | undefined> {
    const file = this.#sidecarPath(key);
    if (!mayExist(file)) return undefined;
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return undefined;
      throw translateFsError(err, `read archive state of ${key}`);
    }
    let sidecar: Sidecar | undefined;
    try {
      sidecar = JSON.parse(text) as Sidecar;
    } catch {
      sidecar = undefined;
    }
    if (sidecar?.version !== 1 || sidecar.key !== key || !STORAGE_CLASSES.includes(sidecar.storageClass)) {
      throw new IntegrityError(`archive state of ${key} in ${file} is damaged`);
    }
    return sidecar;
  }

  async #writeSidecar(sidecar: Sidecar): Promise<void> {
    const file = this.#sidecarPath(sidecar.key);
    const tmp = `${file}.${randomUUID()}.tmp`;
    try {
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      // Replaced by rename, never rewritten in place: read-only, like the objects it describes.
      await writeDurably(tmp, Buffer.from(JSON.stringify(sidecar)), 0o400);
      await rename(tmp, file);
      await syncDirectory(path.dirname(file));
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw translateFsError(err, `write archive state of ${sidecar.key}`);
    }
  }

  async #removeSidecar(key: string): Promise<void> {
    const file = this.#sidecarPath(key);
    if (!mayExist(file)) return;
    try {
      await unlink(file);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw translateFsError(err, `remove archive state of ${key}`);
    }
  }
}

/**
 * False when `file` surely does not exist. Most objects never get a sidecar, and a restore or
 * backup asks about every pack and metadata object it touches (~170 on a 2 GiB restore): a failed
 * asynchronous open or unlink costs 50-80 µs, most of it building the error, against ~2 µs for
 * this stat, which throws nothing. Any other outcome (found, or an error to report) says "maybe",
 * and the caller's own I/O decides.
 */
function mayExist(file: string): boolean {
  try {
    return statSync(file, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}

import { mkdir, open, readdir } from "node:fs/promises";
import path from "node:path";
import {
  extendedRetention,
  type ObjectRetention,
  RetentionMode,
  strongerMode,
} from "../../ports/object-store.ts";
import { errnoCode } from "./fs-errors.ts";
import { syncDirectory } from "./fs-io.ts";

/**
 * Directory under the store root holding retention records. `@` is outside the key alphabet, so
 * no object key can reach it and the store's listing skips it like any stray name.
 */
export const RETENTION_DIR = "@retention";

/** Record names are `@<until>.<mode>`: `@` keeps them apart from any key segment. */
const RECORD = /^@(\d{1,16})\.(governance|compliance)$/;

/**
 * Object retention on a filesystem, kept beside the objects: the retention of key `packs/ab/12` is
 * the set of empty files in `<root>/@retention/packs/ab/12/`, each named for one retention asked
 * (`@<until>.<mode>`), and what holds is the latest date in the strongest mode among them.
 *
 * Extending adds a file and never rewrites one, so two processes extending at once cannot lose
 * either's extension (a read-modify-write of one record could put back the earlier date), and a
 * crash leaves either the old set or the old set plus a complete name. Nothing in the store ever
 * removes a record; they are a few bytes of directory entries per object, and an object deleted
 * after its retention ended keeps them (harmless: a key is never stored twice with other bytes,
 * content-addressed or random as keys are, and a later retention only extends them).
 */
export class FsRetention {
  readonly #dir: string;

  /** @param root the store's root directory. */
  constructor(root: string) {
    this.#dir = path.join(root, RETENTION_DIR);
  }

  /** The retention in effect on `key`, or undefined when none was ever set. */
  async of(key: string): Promise<ObjectRetention | undefined> {
    let names: string[];
    try {
      names = await readdir(this.#recordDir(key));
    } catch (err) {
      const code = errnoCode(err);
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw err;
    }
    let held: ObjectRetention | undefined;
    for (const name of names) {
      const m = RECORD.exec(name);
      if (!m) continue;
      const mode = m[2] === "compliance" ? RetentionMode.Compliance : RetentionMode.Governance;
      held = held
        ? { until: Math.max(held.until, Number(m[1])), mode: strongerMode(held.mode, mode) }
        : { until: Number(m[1]), mode };
    }
    return held;
  }

  /**
   * Extends the retention of `key` to `until` in at least `mode` and returns what now holds. The
   * caller has checked that the object exists.
   */
  async extend(key: string, until: number, mode: RetentionMode): Promise<ObjectRetention> {
    const current = await this.of(key);
    const wanted = extendedRetention(current, until, mode);
    if (current && current.until === wanted.until && current.mode === wanted.mode) return current;
    const dir = this.#recordDir(key);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `@${wanted.until}.${wanted.mode}`);
    try {
      const handle = await open(file, "wx", 0o400);
      await handle.close();
    } catch (err) {
      // The same extension recorded by another process: it holds either way.
      if (errnoCode(err) !== "EEXIST") throw err;
    }
    // Why: without syncing the directory, a power loss may forget the record.
    await syncDirectory(dir);
    return (await this.of(key)) ?? wanted;
  }

  #recordDir(key: string): string {
    return path.join(this.#dir, ...key.split("/"));
  }
}

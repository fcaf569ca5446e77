import { randomBytes } from "node:crypto";
import { link, readFile, rename, unlink } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { ConflictError } from "../../errors.ts";
import { errnoCode, translateFsError } from "./fs-errors.ts";
import { writeDurably } from "./fs-io.ts";

/**
 * An exclusive lock between processes on one machine, held as a lock file naming its holder
 * (`pid nonce`). Node has no `flock` without a native addon, so exclusion rests on two atomic
 * filesystem operations:
 *
 * - **taking** it hard-links a fully written temporary file to the lock's name, so the lock never
 *   exists without its holder in it (a holder killed between creating and writing an empty lock
 *   would otherwise leave one nobody can judge stale);
 * - **taking over** the lock of a process that is gone renames it aside and checks that what was
 *   moved is the lock judged stale; a live lock moved by a racing taker is linked back.
 *
 * A holder calls {@link FileLock.stillHeld} right before its commit step, so the one rare
 * interleaving the takeover cannot prevent (a live lock snatched and not restorable) ends in a
 * retryable conflict, never in two writers committing.
 */
export class FileLock {
  readonly #path: string;
  readonly #waitMs: number;
  #token: string | undefined;

  /** @param waitMs how long {@link acquire} waits for another holder before giving up */
  constructor(path: string, waitMs: number) {
    this.#path = path;
    this.#waitMs = waitMs;
  }

  /** Takes the lock, waiting up to `waitMs`; a lock whose process is gone is taken over. */
  async acquire(what: string): Promise<void> {
    const deadline = Date.now() + this.#waitMs;
    const token = `${process.pid} ${randomBytes(8).toString("hex")}\n`;
    for (;;) {
      if (await this.#tryTake(token, what)) {
        this.#token = token;
        return;
      }
      const holder = await this.#holder();
      if (holder !== undefined && holderIsGone(holder)) {
        await this.#takeOver(holder);
        continue;
      }
      if (Date.now() > deadline) {
        throw new ConflictError(
          `another change of ${what} is in progress (lock file ${this.#path}); try again`,
          {
            retryable: true,
          },
        );
      }
      await sleep(20 + Math.random() * 30);
    }
  }

  /** Whether the lock file still names this holder (checked right before committing). */
  async stillHeld(): Promise<boolean> {
    return this.#token !== undefined && (await this.#holder()) === this.#token;
  }

  /** Gives the lock up; only the holder's own lock file is removed. */
  async release(): Promise<void> {
    if (this.#token !== undefined && (await this.stillHeld()))
      await unlink(this.#path).catch(() => undefined);
    this.#token = undefined;
  }

  async #tryTake(token: string, what: string): Promise<boolean> {
    const temp = `${this.#path}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      await writeDurably(temp, Buffer.from(token), 0o600);
      await link(temp, this.#path);
      return true;
    } catch (err) {
      if (errnoCode(err) === "EEXIST") return false;
      throw translateFsError(err, `lock ${what}`);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async #holder(): Promise<string | undefined> {
    return readFile(this.#path, "utf8").catch(() => undefined);
  }

  /** Moves the stale lock aside; puts back a live one a racing taker put there meanwhile. */
  async #takeOver(stale: string): Promise<void> {
    const aside = `${this.#path}.${randomBytes(4).toString("hex")}.stale.tmp`;
    try {
      await rename(this.#path, aside);
    } catch {
      return; // someone else moved or released it first
    }
    const moved = await readFile(aside, "utf8").catch(() => undefined);
    if (moved !== stale) await link(aside, this.#path).catch(() => undefined);
    await unlink(aside).catch(() => undefined);
  }
}

/** Whether the process named in a lock file no longer exists (a lock it cannot have released). */
function holderIsGone(holder: string): boolean {
  const pid = Number.parseInt(holder, 10);
  // A lock written by an older format (bare pid, or nothing) is judged by its pid alone.
  if (!Number.isSafeInteger(pid) || pid <= 0) return holder.trim() === "";
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return errnoCode(err) === "ESRCH";
  }
}

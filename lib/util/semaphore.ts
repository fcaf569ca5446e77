import { ValidationError } from "../errors.ts";

/**
 * A counting semaphore: at most `limit` holders at a time, later callers wait in FIFO order. A
 * released permit passes straight to the longest waiter, so a steady stream of new callers
 * cannot starve one that has been waiting.
 */
export class Semaphore {
  /** How many holders may run at once. */
  readonly limit: number;
  #active = 0;
  readonly #waiters: (() => void)[] = [];

  /** @param limit an integer >= 1. */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new ValidationError(`semaphore limit must be an integer >= 1, got ${limit}`);
    }
    this.limit = limit;
  }

  /** Permits currently held. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting for a permit. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Waits for a permit; resolves to the function that gives it back (calling it twice is a no-op). */
  async acquire(): Promise<() => void> {
    if (this.#active < this.limit) this.#active++;
    else await new Promise<void>((resolve) => this.#waiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release();
    };
  }

  /** Runs `fn` holding a permit, giving it back however `fn` ends. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  #release(): void {
    const next = this.#waiters.shift();
    // The permit moves to the waiter without `active` dropping, so nobody can barge in between.
    if (next) next();
    else this.#active--;
  }
}

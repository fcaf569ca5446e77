import type { SnapshotQueue, SnapshotRequest } from "../../ports/queue.ts";

/** What the in-process queue does with a message: the snapshot worker's entry point. */
export type QueueConsumer = (
  request: SnapshotRequest,
  delivery: { attempt: number; maxAttempts: number },
) => Promise<unknown>;

/** Tuning of an {@link InProcessQueue}. */
export interface InProcessQueueOptions {
  /** Deliveries before a message is dead-lettered (SQS's maxReceiveCount). Default 3. */
  readonly maxAttempts?: number;
  /** Wait before redelivery `n` (1-based), in ms. Default 1 s, 2 s, 4 s… */
  readonly backoffMs?: (attempt: number) => number;
  /** Messages worked on at once. Default 1: backups of one vault share the machine. */
  readonly concurrency?: number;
}

/**
 * The fan-out queue of the embedded runtime: messages are delivered in process to the consumer,
 * redelivered with backoff when it throws, and dead-lettered after the last attempt, like SQS
 * with a redrive policy. Nothing survives a restart: the scheduler re-sends jobs still queued.
 */
export class InProcessQueue implements SnapshotQueue {
  /** Messages that failed every attempt, with their last error. */
  readonly deadLetters: { request: SnapshotRequest; error: string }[] = [];
  readonly #consumer: QueueConsumer;
  readonly #maxAttempts: number;
  readonly #backoff: (attempt: number) => number;
  readonly #concurrency: number;
  readonly #waiting: { request: SnapshotRequest; attempt: number }[] = [];
  readonly #idle: (() => void)[] = [];
  #active = 0;
  #timers = 0;

  constructor(consumer: QueueConsumer, options: InProcessQueueOptions = {}) {
    this.#consumer = consumer;
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#backoff = options.backoffMs ?? ((n) => 1000 * 2 ** (n - 1));
    this.#concurrency = options.concurrency ?? 1;
  }

  async send(requests: readonly SnapshotRequest[]): Promise<void> {
    for (const request of requests) this.#waiting.push({ request, attempt: 1 });
    this.#pump();
  }

  /** Resolves once every message has been handled or dead-lettered. */
  drained(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #isIdle(): boolean {
    return this.#waiting.length === 0 && this.#active === 0 && this.#timers === 0;
  }

  #pump(): void {
    while (this.#active < this.#concurrency && this.#waiting.length > 0) {
      const next = this.#waiting.shift()!;
      this.#active++;
      void this.#deliver(next.request, next.attempt).finally(() => {
        this.#active--;
        this.#pump();
        if (this.#isIdle()) for (const resolve of this.#idle.splice(0)) resolve();
      });
    }
  }

  async #deliver(request: SnapshotRequest, attempt: number): Promise<void> {
    try {
      await this.#consumer(request, { attempt, maxAttempts: this.#maxAttempts });
    } catch (err) {
      if (attempt >= this.#maxAttempts) {
        this.deadLetters.push({ request, error: err instanceof Error ? err.message : String(err) });
        return;
      }
      this.#timers++;
      setTimeout(() => {
        this.#timers--;
        this.#waiting.push({ request, attempt: attempt + 1 });
        this.#pump();
      }, this.#backoff(attempt));
    }
  }
}

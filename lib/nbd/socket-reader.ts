import type { Socket } from "node:net";

const MAX_BUFFERED = 8 * 1024 * 1024;

/**
 * Reads exact byte counts from a socket, waiting as needed; a closed socket ends every wait
 * with undefined. Buffers at most what the peer has sent and the caller not yet taken.
 */
export class SocketReader {
  readonly #socket: Socket;
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  #closed = false;
  #wake: (() => void) | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      // A peer that sends faster than requests are served waits in its own TCP window.
      if (this.#buffered > MAX_BUFFERED) socket.pause();
      this.#notify();
    });
    const close = () => {
      this.#closed = true;
      this.#notify();
    };
    socket.on("end", close);
    socket.on("close", close);
    socket.on("error", close);
  }

  /** Exactly `n` bytes, or undefined when the socket closes first. */
  async take(n: number): Promise<Buffer | undefined> {
    while (this.#buffered < n) {
      if (this.#closed) return undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks.length = 0;
    if (rest.length > 0) this.#chunks.push(rest);
    this.#buffered = rest.length;
    if (this.#buffered <= MAX_BUFFERED) this.#socket.resume();
    return out;
  }

  /** Reads and drops `n` bytes (a refused write's payload), a piece at a time. */
  async skip(n: number): Promise<boolean> {
    for (let left = n; left > 0; ) {
      const piece = Math.min(left, 1024 * 1024);
      if (!(await this.take(piece))) return false;
      left -= piece;
    }
    return true;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

import { createConnection, type Socket } from "node:net";
import { GuestAgentError } from "../../../errors.ts";

/** The delimiter qemu-ga puts before its answer to `guest-sync-delimited`. */
const DELIMITER = 0xff;

/**
 * One QEMU guest agent on a unix socket, spoken to in its JSON protocol: each call opens a
 * connection, resynchronises with `guest-sync-delimited` (a random id, answered after a 0xFF
 * byte, so anything a previous client left unread is skipped), sends one command, reads its answer
 * and closes. Holding no connection between calls matters: qemu-ga serves one client at a time,
 * and the thaw watchdog must be able to reach it whenever it has to.
 */
export class QemuGaClient {
  readonly socket: string;

  constructor(socket: string) {
    this.socket = socket;
  }

  /** Runs `execute` with `args`; its `return` value, or a `GuestAgentError` naming the agent. */
  call<T>(execute: string, args: object | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = Math.floor(Math.random() * 2 ** 31);
      const conn = createConnection(this.socket);
      let buffered = Buffer.alloc(0);
      let synced = false;
      let finished = false;
      const finish = (err: Error | undefined, value?: T) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        conn.destroy();
        if (err) reject(err);
        else resolve(value as T);
      };
      const timer = setTimeout(
        () => finish(this.#error(`no answer to ${execute} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      conn.on("connect", () => {
        conn.write(
          Buffer.concat([
            Buffer.from([DELIMITER]),
            line({ execute: "guest-sync-delimited", arguments: { id } }),
          ]),
        );
      });
      conn.on("error", (err: NodeJS.ErrnoException) =>
        finish(this.#error(`cannot reach it: ${err.code ?? err.message}`)),
      );
      conn.on("close", () => finish(this.#error(`it closed the connection during ${execute}`)));
      conn.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (!synced) {
          const at = buffered.lastIndexOf(DELIMITER);
          if (at < 0) return;
          buffered = buffered.subarray(at + 1);
        }
        for (let nl = buffered.indexOf(10); nl >= 0; nl = buffered.indexOf(10)) {
          const text = buffered.subarray(0, nl).toString("utf8").trim();
          buffered = buffered.subarray(nl + 1);
          if (text === "") continue;
          const answer = parse(text);
          if (!synced) {
            if (answer?.return === id) {
              synced = true;
              this.#send(conn, execute, args);
            }
            continue;
          }
          if (answer?.error) return finish(this.#error(`${execute} failed: ${describe(answer.error)}`));
          return finish(undefined, answer?.return as T);
        }
      });
    });
  }

  #send(conn: Socket, execute: string, args: object | undefined): void {
    conn.write(line(args === undefined ? { execute } : { execute, arguments: args }));
  }

  #error(problem: string): GuestAgentError {
    return new GuestAgentError(`qemu-ga at ${this.socket}: ${problem}`);
  }
}

function line(message: object): Buffer {
  return Buffer.from(`${JSON.stringify(message)}\n`);
}

function parse(text: string): { return?: unknown; error?: unknown } | undefined {
  try {
    return JSON.parse(text) as { return?: unknown; error?: unknown };
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  const e = error as { class?: string; desc?: string };
  return `${e.desc ?? "unknown error"}${e.class ? ` (${e.class})` : ""}`;
}

import { constants } from "node:zlib";

/** The internal handle of Node's zstd streams (not a public API: its shape is checked). */
interface Handle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    output: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
  reset(): void;
}

/** What one run of zstd did: bytes written to the output, input bytes it did not consume. */
export interface ZstdRun {
  readonly produced: number;
  readonly inputLeft: number;
}

/**
 * A long-lived zstd context that (de)compresses from one buffer straight into another. Node's
 * public API builds a context and assembles fresh output buffers on every call; block workers
 * (de)compress thousands of blocks a second, so they drive a stream's handle directly instead.
 */
export interface ZstdContext {
  /**
   * Runs zstd over all of `input` (ending the frame, when compressing) into `outLength` bytes
   * of `output` from `outOffset`. Undefined when zstd failed: Node has then closed the context,
   * which must not be used again.
   */
  run(input: Uint8Array, output: Uint8Array, outOffset: number, outLength: number): ZstdRun | undefined;
  /** Starts afresh, dropping a frame left half done. */
  reset(): void;
}

/**
 * The context behind a zstd stream (from `createZstdCompress` or `createZstdDecompress`), or
 * undefined if this Node's internals do not have the expected shape: callers then fall back to
 * the public API.
 */
export function zstdContext(
  stream: NodeJS.EventEmitter & { readonly destroyed: boolean },
): ZstdContext | undefined {
  const internals = stream as unknown as { _handle?: Partial<Handle>; _writeState?: unknown };
  const handle = internals._handle;
  const state = internals._writeState;
  if (typeof handle?.writeSync !== "function" || typeof handle.reset !== "function") return undefined;
  if (!(state instanceof Uint32Array) || state.length < 2) return undefined;
  // A zstd error destroys the stream synchronously (seen through `destroyed` below) and is
  // emitted as an event later: without a listener that event would crash the thread.
  stream.on("error", () => {});
  const live = handle as Handle;
  return {
    run(input, output, outOffset, outLength) {
      live.writeSync(constants.ZSTD_e_end, input, 0, input.length, output, outOffset, outLength);
      if (stream.destroyed) return undefined;
      return { produced: outLength - state[0]!, inputLeft: state[1]! };
    },
    reset: () => live.reset(),
  };
}

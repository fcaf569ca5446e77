import { formatBytes } from "./format.ts";
import { estimateProgress, formatDuration } from "./progress-estimate.ts";
import { ProgressMode } from "./table/progress-option.ts";

/** Reports a long operation's progress on stderr, as a bar, a JSON stream, or not at all. */
export interface ProgressReporter {
  /** A progress callback `(done, total)`, as the engine calls it. */
  readonly update: (done: number, total: number) => void;
  /** The operation succeeded: ends the bar, or writes the stream's summary line with `fields`. */
  readonly succeeded: (bytes: number, durationMs: number, fields: Record<string, unknown>) => void;
  /** Ends the bar's line, whatever happened; idempotent. */
  readonly close: () => void;
}

/** The stream a reporter writes to: stderr, or a test's. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * The reporter `--progress` asks for. Without it, `--json` gets the JSON stream (scripts reading
 * stdout also want to follow along), and otherwise a bar is drawn only on a terminal, so pipes
 * and logs stay clean.
 */
export function progressReporter(
  operation: string,
  mode: ProgressMode | undefined,
  json: boolean,
  stream: ProgressStream = process.stderr,
): ProgressReporter {
  const chosen = mode ?? (json ? ProgressMode.Json : ProgressMode.Auto);
  if (chosen === ProgressMode.Json) return jsonStream(operation, stream);
  if (chosen === ProgressMode.Bar || (chosen === ProgressMode.Auto && stream.isTTY)) {
    return progressBar(operation, stream);
  }
  return { update: () => {}, succeeded: () => {}, close: () => {} };
}

const BAR_WIDTH = 30;
const REDRAW_MS = 100;

/** A bar with bytes, throughput and ETA, redrawn at most ten times a second. */
function progressBar(label: string, stream: ProgressStream): ProgressReporter {
  const started = Date.now();
  let last = 0;
  let drawn = false;
  const close = () => {
    if (drawn) stream.write("\n");
    drawn = false;
  };
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < REDRAW_MS && done < total) return;
      last = now;
      const e = estimateProgress(done, total, now - started);
      const filled = Math.round((e.percent / 100) * BAR_WIDTH);
      const bar = `${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}`;
      const pct = `${e.percent.toFixed(0)}%`.padStart(4);
      const rate = `${formatBytes(e.bytesPerSecond)}/s`;
      stream.write(
        `\r${label} [${bar}] ${pct} ${formatBytes(e.bytesDone)} / ${formatBytes(total)}  ${rate}  ETA ${formatDuration(e.secondsRemaining)}\x1b[K`,
      );
      drawn = true;
    },
    succeeded: close,
    close,
  };
}

const STATUS_MS = 1000;

/**
 * One JSON object per line, like restic's `--json` status lines: a status when the operation
 * starts moving, then at most one a second, one at completion, and a summary on success.
 */
function jsonStream(operation: string, stream: ProgressStream): ProgressReporter {
  const started = Date.now();
  let last: number | undefined;
  let completed = false;
  const line = (object: Record<string, unknown>) => stream.write(`${JSON.stringify(object)}\n`);
  return {
    update(done, total) {
      const now = Date.now();
      const complete = done >= total;
      if (completed || (last !== undefined && now - last < STATUS_MS && !complete)) return;
      last = now;
      completed = complete;
      line({ type: "status", operation, ...estimateProgress(done, total, now - started) });
    },
    succeeded(bytes, durationMs, fields) {
      const { secondsRemaining: _, ...totals } = estimateProgress(bytes, bytes, durationMs);
      line({ type: "summary", operation, ...totals, ...fields });
    },
    close: () => {},
  };
}

import { formatBytes, formatRate } from "./format.ts";

/** A progress callback `(done, total)` and a way to finish the line. */
export interface ProgressBar {
  readonly update: (done: number, total: number) => void;
  readonly done: () => void;
}

const WIDTH = 30;
const REDRAW_MS = 100;

/**
 * A progress bar with throughput on stderr, drawn only when stderr is a terminal (so pipes and
 * `--json` output stay clean). Redraws at most ten times a second.
 */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  if (!stream.isTTY) return { update: () => {}, done: () => {} };
  const started = Date.now();
  let last = 0;
  let drawn = false;
  const draw = (done: number, total: number) => {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * WIDTH);
    const bar = `${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}`;
    const pct = `${(fraction * 100).toFixed(0)}%`.padStart(4);
    stream.write(
      `\r${label} [${bar}] ${pct} ${formatBytes(done)} / ${formatBytes(total)}  ${formatRate(done, Date.now() - started)}\x1b[K`,
    );
    drawn = true;
  };
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < REDRAW_MS && done < total) return;
      last = now;
      draw(done, total);
    },
    done() {
      if (drawn) stream.write("\n");
      drawn = false;
    },
  };
}

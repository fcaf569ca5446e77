/** Where a long operation stands: how far, how fast, and how long it still needs. */
export interface ProgressEstimate {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** 0 to 100, to one decimal. */
  readonly percent: number;
  readonly secondsElapsed: number;
  /** At the average rate so far; null until a byte is done. */
  readonly secondsRemaining: number | null;
  readonly bytesPerSecond: number;
}

/**
 * The estimate after `elapsedMs` with `done` of `total` bytes done. The rate is the average since
 * the start, which moves less than a recent window on a disk of mixed holes and data (holes go
 * by in no time). An empty operation is complete.
 */
export function estimateProgress(done: number, total: number, elapsedMs: number): ProgressEstimate {
  const bytesDone = Math.min(done, total);
  const fraction = total > 0 ? bytesDone / total : 1;
  const seconds = Math.max(elapsedMs, 0) / 1000;
  const rate = seconds > 0 ? bytesDone / seconds : 0;
  const remaining = bytesDone >= total ? 0 : rate > 0 ? (total - bytesDone) / rate : null;
  return {
    bytesDone,
    bytesTotal: total,
    percent: Math.floor(fraction * 1000) / 10,
    secondsElapsed: round1(seconds),
    secondsRemaining: remaining === null ? null : round1(remaining),
    bytesPerSecond: Math.round(rate),
  };
}

/** `75` → `1:15`, `3725` → `1:02:05`; `--:--` when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "--:--";
  const s = Math.ceil(seconds);
  const two = (n: number) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

import type { Measured, StepResult } from "./types.ts";

/** What running a step's subprocess produced: the outside measurement and the tool's own summary. */
export interface StepOutcome {
  readonly measured: Measured;
  readonly reported: unknown;
}

const MIB = 1024 * 1024;

/** Runs one timed step and logs its time, throughput over the image size, CPU time and peak RSS. */
export async function step(
  tool: string,
  name: string,
  imageBytes: number,
  log: (line: string) => void,
  body: () => Promise<StepOutcome>,
): Promise<StepResult> {
  const { measured, reported } = await body();
  const seconds = measured.wallMs / 1000;
  const cpuSeconds = measured.cpuMs === undefined ? undefined : measured.cpuMs / 1000;
  const rss = measured.peakRssBytes === undefined ? "?" : (measured.peakRssBytes / MIB).toFixed(0);
  const cpu = cpuSeconds === undefined ? "?" : cpuSeconds.toFixed(2);
  log(
    `  ${tool} ${name}: ${seconds.toFixed(2)} s, ${(imageBytes / MIB / seconds).toFixed(0)} MiB/s, CPU ${cpu} s, peak RSS ${rss} MiB`,
  );
  // null rather than undefined, so results.json shows the step had no summary instead of omitting it.
  return { seconds, cpuSeconds, peakRssBytes: measured.peakRssBytes, reported: reported ?? null };
}

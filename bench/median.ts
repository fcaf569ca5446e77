import type { StepResult, ToolResult } from "./types.ts";

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function medianStep(steps: readonly StepResult[]): StepResult {
  const rss = steps.map((s) => s.peakRssBytes).filter((n): n is number => n !== undefined);
  const cpu = steps.map((s) => s.cpuSeconds).filter((n): n is number => n !== undefined);
  return {
    seconds: median(steps.map((s) => s.seconds)),
    cpuSeconds: cpu.length === steps.length && cpu.length > 0 ? median(cpu) : undefined,
    peakRssBytes: rss.length > 0 ? Math.max(...rss) : undefined,
    reported: steps.map((s) => s.reported),
  };
}

/**
 * Combines rounds of one tool: the median wall and CPU time of each step, the highest peak RSS, the store
 * sizes of the first round (they do not depend on timing), and identical only if every round's
 * restore was.
 */
export function medianOf(runs: readonly ToolResult[]): ToolResult | undefined {
  const [first] = runs;
  if (!first) return undefined;
  return {
    ...first,
    full: medianStep(runs.map((r) => r.full)),
    incremental: medianStep(runs.map((r) => r.incremental)),
    restore: medianStep(runs.map((r) => r.restore)),
    ...(first.qcow2Full
      ? { qcow2Full: medianStep(runs.flatMap((r) => (r.qcow2Full ? [r.qcow2Full] : []))) }
      : {}),
    restoreIdentical: runs.every((r) => r.restoreIdentical),
  };
}

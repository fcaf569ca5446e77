import type { BenchImages, ToolResult } from "./types.ts";

const MIB = 1024 * 1024;

/** One of the project's performance targets, judged against this run's numbers. */
export interface TargetCheck {
  readonly target: string;
  /** The measured value, already formatted; "n/a" when the run could not measure it. */
  readonly measured: string;
  /** PASS, MISS, or n/a when not measured (e.g. restic skipped). */
  readonly verdict: "PASS" | "MISS" | "n/a";
}

/** restic's time over blockvault's for a step: how many times faster blockvault was. */
export function speedup(bv: number | undefined, restic: number | undefined): number | undefined {
  return bv !== undefined && restic !== undefined && bv > 0 ? restic / bv : undefined;
}

function check(
  target: string,
  value: number | undefined,
  pass: (v: number) => boolean,
  fmt: (v: number) => string,
): TargetCheck {
  return value === undefined
    ? { target, measured: "n/a", verdict: "n/a" as const }
    : { target, measured: fmt(value), verdict: pass(value) ? ("PASS" as const) : ("MISS" as const) };
}

const times = (v: number) => `${v.toFixed(2)}×`;

/** Judges the run against the targets; restic-relative ones are n/a when restic did not run. */
export function checkTargets(
  images: BenchImages,
  bv: ToolResult | undefined,
  restic: ToolResult | undefined,
): TargetCheck[] {
  const changedBytes = images.changedPages * 4096;
  const added = bv ? bv.storeBytesAfterIncremental - bv.storeBytesAfterFull : undefined;
  const rss = bv ? [bv.full, bv.incremental, bv.restore].map((s) => s.peakRssBytes) : [];
  const peakRss = rss.length > 0 && rss.every((r) => r !== undefined) ? Math.max(...rss) : undefined;
  const peakStep = ["full backup", "incremental", "restore"][rss.indexOf(peakRss)];
  return [
    check(
      "full backup ≥ 3× restic throughput",
      speedup(bv?.full.seconds, restic?.full.seconds),
      (v) => v >= 3,
      times,
    ),
    check(
      "incremental ≥ 5× restic throughput",
      speedup(bv?.incremental.seconds, restic?.incremental.seconds),
      (v) => v >= 5,
      times,
    ),
    check(
      "restore ≥ 2× restic throughput",
      speedup(bv?.restore.seconds, restic?.restore.seconds),
      (v) => v >= 2,
      times,
    ),
    check(
      "incremental adds ≤ 2× changed bytes",
      added !== undefined && changedBytes > 0 ? added / changedBytes : undefined,
      (v) => v <= 2,
      times,
    ),
    check(
      "peak RSS ≤ 300 MiB (all steps)",
      peakRss,
      (v) => v <= 300 * MIB,
      (v) => `${(v / MIB).toFixed(0)} MiB (${peakStep})`,
    ),
    check(
      "vault ≤ restic repo after full",
      bv && restic ? bv.storeBytesAfterFull / restic.storeBytesAfterFull : undefined,
      (v) => v <= 1,
      // Four decimals: the two stores can be within a fraction of a percent of each other.
      (v) => `${v.toFixed(4)}×`,
    ),
  ];
}

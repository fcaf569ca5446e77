import { formatBytes, table } from "../lib/cli/format.ts";
import { speedup, type TargetCheck } from "./targets.ts";
import type { BenchImages, StepResult, ToolResult } from "./types.ts";

const MIB = 1024 * 1024;
const STEPS = [
  ["full backup", "full"],
  ["incremental", "incremental"],
  ["restore", "restore"],
] as const;

function stepCells(s: StepResult | undefined, imageBytes: number): string[] {
  if (!s) return ["-", "-", "-", "-"];
  return [
    s.seconds.toFixed(2),
    (imageBytes / MIB / s.seconds).toFixed(0),
    s.cpuSeconds === undefined ? "?" : s.cpuSeconds.toFixed(2),
    s.peakRssBytes === undefined ? "?" : (s.peakRssBytes / MIB).toFixed(0),
  ];
}

/** Time, throughput, CPU time and memory per step, side by side, with restic's time over blockvault's. */
export function timingTable(images: BenchImages, bv?: ToolResult, restic?: ToolResult): string {
  const rows = STEPS.map(([label, key]) => {
    const ratio = speedup(bv?.[key].seconds, restic?.[key].seconds);
    return [
      label,
      ...stepCells(bv?.[key], images.sizeBytes),
      ...stepCells(restic?.[key], images.sizeBytes),
      ratio === undefined ? "-" : `${ratio.toFixed(2)}×`,
    ];
  });
  // The same disk as a qcow2 image: blockvault reads it through the format's tables.
  if (bv?.qcow2Full) {
    rows.splice(1, 0, [
      "full backup, qcow2 source",
      ...stepCells(bv.qcow2Full, images.sizeBytes),
      "-",
      "-",
      "-",
      "-",
      "-",
    ]);
  }
  return table(
    [
      "step",
      "bv s",
      "bv MiB/s",
      "bv CPU s",
      "bv RSS MiB",
      "restic s",
      "restic MiB/s",
      "restic CPU s",
      "restic RSS MiB",
      "restic/bv time",
    ],
    rows,
  );
}

function bytes(n: number | undefined): string {
  return n === undefined ? "-" : `${formatBytes(n)} (${n})`;
}

function ratio(n: number | undefined, d: number): string {
  return n === undefined || d <= 0 ? "-" : `${(n / d).toFixed(2)}×`;
}

/** What each store grew by, against what really changed, and the store sizes. */
export function sizeTable(images: BenchImages, bv?: ToolResult, restic?: ToolResult): string {
  const changed = images.changedPages * 4096;
  const delta = (t?: ToolResult) => (t ? t.storeBytesAfterIncremental - t.storeBytesAfterFull : undefined);
  return table(
    ["", "blockvault", "restic"],
    [
      ["image size", bytes(images.sizeBytes), ""],
      ["changed (differing 4 KiB pages)", `${bytes(changed)}, ${images.changedPages} pages`, ""],
      ["added by incremental", bytes(delta(bv)), bytes(delta(restic))],
      ["  ÷ changed bytes", ratio(delta(bv), changed), ratio(delta(restic), changed)],
      ["store size after full", bytes(bv?.storeBytesAfterFull), bytes(restic?.storeBytesAfterFull)],
      [
        "store size after incremental",
        bytes(bv?.storeBytesAfterIncremental),
        bytes(restic?.storeBytesAfterIncremental),
      ],
      [
        "restore identical (SHA-256)",
        bv ? (bv.restoreIdentical ? "yes" : "NO") : "-",
        restic ? (restic.restoreIdentical ? "yes" : "NO") : "-",
      ],
    ],
  );
}

/** The targets with their verdicts. */
export function targetTable(checks: readonly TargetCheck[]): string {
  return table(
    ["target", "measured", "verdict"],
    checks.map((c) => [c.target, c.measured, c.verdict]),
  );
}

import type { Capture } from "./capture.ts";

/** Longest script output kept on the job, per stream: the job is a record, not a log store. */
const OUTPUT_CHARS = 4096;

/**
 * What a capture did, as job details (flat values): the level and why, the freeze window, each
 * step in order, and each script's command, exit code and output (the last 4096 characters).
 */
export function captureDetail(capture: Capture): Record<string, string | number | boolean> {
  const detail: Record<string, string | number | boolean> = { consistency: capture.level };
  if (capture.reason) detail.consistencyReason = capture.reason;
  if (capture.freezeMs !== undefined) detail.freezeMs = capture.freezeMs;
  if (capture.frozenAt !== undefined) detail.frozenAt = capture.frozenAt;
  if (capture.thawedAt !== undefined) detail.thawedAt = capture.thawedAt;
  detail.steps = capture.steps
    .map((s) => `${s.step} ${s.ok ? "ok" : "failed"} (${s.ms} ms): ${s.detail}`)
    .join("\n");
  capture.scripts.forEach((run, i) => {
    detail[`script.${i}.command`] = run.command;
    detail[`script.${i}.exitCode`] = run.exitCode ?? "none";
    detail[`script.${i}.timedOut`] = run.timedOut;
    detail[`script.${i}.stdout`] = run.stdout.slice(-OUTPUT_CHARS);
    detail[`script.${i}.stderr`] = run.stderr.slice(-OUTPUT_CHARS);
  });
  return detail;
}

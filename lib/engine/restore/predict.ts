import { type RecoveryPointRecord, Tier } from "../../model.ts";

/**
 * The restore rate one restore worker reaches, in bytes of the point's logical size per second:
 * measured on the 2-CPU development machine, where `blockvault restore` of a 256 MiB point of
 * incompressible data took 5.0 to 7.6 s (process start included), 35 to 50 MiB/s; 48 MiB/s is the
 * middle. Holes and compressible data restore faster, so predictions err long. Restore drills
 * record the measured time beside the prediction, which checks the constant.
 */
export const RESTORE_BYTES_PER_SECOND = 48 * 1024 * 1024;

/** Fixed cost of a restore: opening the vault's index, the worker threads, the target. */
export const RESTORE_FIXED_MS = 1000;

/**
 * Hours S3 takes to make an archived object readable again with the Standard retrieval a restore
 * requests: 3 to 5 for Glacier Flexible Retrieval (AWS's documented range; the upper end here).
 */
export const REHYDRATION_HOURS = 5;

/** A restore time prediction and its parts, in milliseconds. */
export interface RestorePrediction {
  readonly ms: number;
  /** Waiting for archived packs to be readable (0 unless the point is archived). */
  readonly rehydrationMs: number;
  /** Reading, verifying and writing the point's bytes. */
  readonly transferMs: number;
}

/**
 * The predicted restore time of `point`: its tier (an archived point waits for rehydration
 * first), its logical size at {@link RESTORE_BYTES_PER_SECOND} per worker, and the `workers`
 * the restore fans out over (1 today: a restore is one engine run).
 */
export function predictRestore(
  point: Pick<RecoveryPointRecord, "logicalSize" | "tier">,
  workers = 1,
): RestorePrediction {
  const rehydrationMs = point.tier === Tier.Archive ? REHYDRATION_HOURS * 3_600_000 : 0;
  const transferMs = Math.round(
    RESTORE_FIXED_MS + (point.logicalSize / (RESTORE_BYTES_PER_SECOND * Math.max(1, workers))) * 1000,
  );
  return { ms: rehydrationMs + transferMs, rehydrationMs, transferMs };
}

/** `point` as listings show it: with its predicted restore time (`predictedRestoreMs`). */
export function withPrediction<P extends Pick<RecoveryPointRecord, "logicalSize" | "tier">>(
  point: P,
): P & { readonly predictedRestoreMs: number } {
  return { ...point, predictedRestoreMs: predictRestore(point).ms };
}

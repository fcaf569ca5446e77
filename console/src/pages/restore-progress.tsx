import { seg } from "../api.ts";
import { bytes, duration } from "../format.ts";
import type { RecoveryPoint, RestoreJob } from "../types.ts";
import { useApi } from "../use-api.ts";
import { Loading } from "../widgets.tsx";

/** The job's live progress, read again every second until it ends. */
export function Progress({
  jobId,
  point,
  startedAt,
}: {
  jobId: string;
  point: RecoveryPoint;
  startedAt: number;
}) {
  const job = useApi<RestoreJob>(`/restores/${seg(jobId)}`, 1000);
  return (
    <Loading data={job.data} error={job.error}>
      {(j) => {
        const done = j.bytesRestored ?? 0;
        const ended = j.status === "completed" || j.status === "failed" || j.status === "abandoned";
        return (
          <div aria-live="polite">
            <p>
              Job <code>{j.jobId}</code>: <strong data-testid="restore-status">{j.status}</strong>
            </p>
            <label for="restore-progress">Restored</label>
            <progress
              id="restore-progress"
              max={point.logicalSize}
              value={j.status === "completed" ? point.logicalSize : done}
            >
              {bytes(done)}
            </progress>
            <p>
              {bytes(j.status === "completed" ? point.logicalSize : done)} of {bytes(point.logicalSize)}
              {ended && j.ended ? ` in ${duration(j.ended - (j.started ?? startedAt))}` : ""} (predicted{" "}
              {duration(point.predictedRestoreMs)})
            </p>
            {j.restoredTo ? (
              <p>
                Restored to <code data-testid="restored-to">{j.restoredTo}</code>
              </p>
            ) : null}
            {j.error ? (
              <p class="error" role="alert">
                {j.error}
              </p>
            ) : null}
          </div>
        );
      }}
    </Loading>
  );
}

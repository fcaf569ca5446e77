import { bytes, duration, time } from "../format.ts";
import type { Items, Job, ProtectedItem } from "../types.ts";
import { useApi } from "../use-api.ts";
import { Badge, Loading } from "../widgets.tsx";

const KIND: Record<Job["status"], string> = {
  queued: "muted",
  running: "info",
  completed: "ok",
  failed: "bad",
  abandoned: "warn",
};

/** How far a job got: bytes read for a backup, bytes written for a restore. */
function progressOf(job: Job): string {
  const scanned = job.bytesScanned ?? 0;
  if (job.type === "backup") return `${bytes(scanned)} read, ${bytes(job.bytesStored ?? 0)} stored`;
  if (scanned > 0) return `${bytes(scanned)}`;
  return "—";
}

/** A running backup's bar: bytes read of the disk's size. */
function Bar({ job, sizes }: { job: Job; sizes: ReadonlyMap<string, number> }) {
  const size = job.disk === undefined ? undefined : sizes.get(job.disk);
  if (job.status !== "running" || job.type !== "backup" || !size) return null;
  const done = Math.min(job.bytesScanned ?? 0, size);
  return (
    <progress max={size} value={done} aria-label={`${job.type} of ${job.disk}`}>
      {Math.floor((done / size) * 100)} %
    </progress>
  );
}

/** Every job, newest first, read again every two seconds while the page is open. */
export function Jobs() {
  const jobs = useApi<Items<Job>>("/jobs?limit=200", 2000);
  const disks = useApi<Items<ProtectedItem>>("/protected-items");
  const sizes = new Map((disks.data?.items ?? []).map((d) => [d.name, d.size]));
  return (
    <>
      <h1>Jobs</h1>
      <Loading data={jobs.data} error={jobs.error}>
        {(d) =>
          d.items.length === 0 ? (
            <p>No job yet.</p>
          ) : (
            <div class="scroll">
              <table class="stack">
                <caption class="sr-only">Jobs, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Type</th>
                    <th scope="col">Disk</th>
                    <th scope="col">Status</th>
                    <th scope="col">Started</th>
                    <th scope="col">Took</th>
                    <th scope="col">Progress</th>
                    <th scope="col">Error</th>
                  </tr>
                </thead>
                <tbody>
                  {d.items.map((j) => (
                    <tr key={j.id} data-job={j.id} data-type={j.type} data-status={j.status}>
                      <td data-label="Type">{j.type}</td>
                      <td data-label="Disk">{j.disk ?? "—"}</td>
                      <td data-label="Status">
                        <Badge kind={KIND[j.status] ?? "muted"}>{j.status}</Badge>
                      </td>
                      <td data-label="Started">{time(j.started)}</td>
                      <td data-label="Took">{j.ended ? duration(j.ended - j.started) : "—"}</td>
                      <td data-label="Progress">
                        <Bar job={j} sizes={sizes} />
                        {progressOf(j)}
                      </td>
                      <td data-label="Error" class="wrap">
                        {j.error ?? ""}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loading>
    </>
  );
}

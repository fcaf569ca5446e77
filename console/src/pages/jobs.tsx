import { bytes, duration, time } from "../format.ts";
import type { Items, Job } from "../types.ts";
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

/** Every job, newest first, read again every two seconds while the page is open. */
export function Jobs() {
  const jobs = useApi<Items<Job>>("/jobs?limit=200", 2000);
  return (
    <>
      <h1>Jobs</h1>
      <Loading data={jobs.data} error={jobs.error}>
        {(d) =>
          d.items.length === 0 ? (
            <p>No job yet.</p>
          ) : (
            <div class="scroll">
              <table>
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
                      <td>{j.type}</td>
                      <td>{j.disk ?? "—"}</td>
                      <td>
                        <Badge kind={KIND[j.status] ?? "muted"}>{j.status}</Badge>
                      </td>
                      <td>{time(j.started)}</td>
                      <td>{j.ended ? duration(j.ended - j.started) : "—"}</td>
                      <td>{progressOf(j)}</td>
                      <td class="wrap">{j.error ?? ""}</td>
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

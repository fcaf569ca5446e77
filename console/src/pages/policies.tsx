import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { duration, scheduleRpo } from "../format.ts";
import { may } from "../roles.ts";
import { useCaller } from "../session.ts";
import type { Items, Policy, Schedule } from "../types.ts";
import { useApi } from "../use-api.ts";
import { ErrorLine, Loading, Notice } from "../widgets.tsx";

function scheduleText(s: Schedule): string {
  if (s.kind === "daily") return `daily at ${(s.times ?? []).join(", ")}`;
  if (s.kind === "weekly") return `${(s.days ?? []).join(", ")} at ${(s.times ?? []).join(", ")}`;
  if (s.kind === "hourly") return `every ${s.everyHours} h`;
  return s.expression ?? s.kind;
}

/** Creates a daily policy: the common case; the CLI and the API take every other schedule. */
function CreatePolicy({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState("");
  const [at, setAt] = useState("01:00");
  const [zone, setZone] = useState("UTC");
  const [days, setDays] = useState(30);
  const [snapshotDays, setSnapshotDays] = useState(2);
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      await api("/policies", {
        method: "POST",
        body: {
          name,
          schedule: { kind: "daily", times: [at] },
          timeZone: zone,
          retention: { daily: { days } },
          snapshotRetentionDays: snapshotDays,
        },
      });
      setDone(`Policy ${name} created.`);
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form onSubmit={submit} class="grid-form card">
      <h2>New daily policy</h2>
      <label for="policy-name">Name</label>
      <input id="policy-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <label for="policy-time">Backup at (HH:MM)</label>
      <input
        id="policy-time"
        required
        pattern="[0-2][0-9]:[0-5][0-9]"
        value={at}
        onInput={(e) => setAt(e.currentTarget.value)}
      />
      <label for="policy-zone">Time zone</label>
      <input id="policy-zone" required value={zone} onInput={(e) => setZone(e.currentTarget.value)} />
      <label for="policy-days">Keep daily points (days)</label>
      <input
        id="policy-days"
        type="number"
        min={7}
        max={9999}
        required
        value={days}
        onInput={(e) => setDays(Number(e.currentTarget.value))}
      />
      <label for="policy-snapshot">Snapshot tier (days)</label>
      <input
        id="policy-snapshot"
        type="number"
        min={1}
        max={30}
        required
        value={snapshotDays}
        onInput={(e) => setSnapshotDays(Number(e.currentTarget.value))}
      />
      <button type="submit">Create policy</button>
      <ErrorLine error={error} />
      {done ? <Notice>{done}</Notice> : null}
    </form>
  );
}

/** The backup policies, and a form for a new one (contributor). */
export function Policies() {
  const caller = useCaller();
  const policies = useApi<Items<Policy>>("/policies");
  return (
    <>
      <h1>Policies</h1>
      <Loading data={policies.data} error={policies.error}>
        {(d) =>
          d.items.length === 0 ? (
            <p>No policy yet.</p>
          ) : (
            <div class="scroll">
              <table>
                <caption class="sr-only">Backup policies</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Schedule</th>
                    <th scope="col">RPO</th>
                    <th scope="col">Time zone</th>
                    <th scope="col">Version</th>
                  </tr>
                </thead>
                <tbody>
                  {d.items.map((p) => {
                    const rpo = scheduleRpo(p.definition.schedule);
                    return (
                      <tr key={p.name}>
                        <th scope="row">{p.name}</th>
                        <td>{scheduleText(p.definition.schedule)}</td>
                        <td>{rpo === undefined ? "—" : duration(rpo)}</td>
                        <td>{p.definition.timeZone}</td>
                        <td>{p.version}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )
        }
      </Loading>
      {may(caller.roles, "manage") ? <CreatePolicy onDone={policies.reload} /> : null}
    </>
  );
}

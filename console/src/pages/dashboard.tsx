import { bytes, duration, policyRpo, time } from "../format.ts";
import { may } from "../roles.ts";
import { href } from "../route.ts";
import { useCaller } from "../session.ts";
import type { Items, Job, Policy, ProtectedItem, RecoveryPoint } from "../types.ts";
import { useApi } from "../use-api.ts";
import { Badge, Card, Loading } from "../widgets.tsx";
import { ProtectForm } from "./protect-form.tsx";

const DAY = 24 * 60 * 60 * 1000;

/** The newest available point of each disk. */
function lastGood(points: readonly RecoveryPoint[]): Map<string, RecoveryPoint> {
  const out = new Map<string, RecoveryPoint>();
  for (const p of points) {
    if (p.state !== "available") continue;
    const seen = out.get(p.disk);
    if (!seen || seen.created < p.created) out.set(p.disk, p);
  }
  return out;
}

function ProtectedDisks({
  items,
  points,
  policies,
}: {
  items: readonly ProtectedItem[];
  points: readonly RecoveryPoint[];
  policies: readonly Policy[];
}) {
  const latest = lastGood(points);
  const now = Date.now();
  if (items.length === 0) return <p>No disk is protected yet.</p>;
  return (
    <div class="scroll">
      <table class="stack">
        <caption class="sr-only">Protected disks and their last good point</caption>
        <thead>
          <tr>
            <th scope="col">Disk</th>
            <th scope="col">Policy</th>
            <th scope="col">Last good point</th>
            <th scope="col">Age / RPO</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => {
            const point = latest.get(item.name);
            const rpo = policyRpo(policies, item.policy);
            const age = point ? now - point.created : undefined;
            const late = age !== undefined && rpo !== undefined && age > rpo;
            return (
              <tr key={item.name} data-disk={item.name}>
                <th scope="row" data-label="Disk">
                  <a href={href("items", item.name)}>{item.name}</a>
                </th>
                <td data-label="Policy">{item.policy ?? <em>none</em>}</td>
                <td data-label="Last good point">{point ? time(point.created) : "—"}</td>
                <td data-label="Age / RPO">
                  {age === undefined ? "—" : duration(age)} / {rpo === undefined ? "—" : duration(rpo)}
                </td>
                <td data-label="Status">
                  {!item.protected ? (
                    <Badge kind="muted">not protected</Badge>
                  ) : !point ? (
                    <Badge kind="warn">no backup yet</Badge>
                  ) : late ? (
                    <Badge kind="bad">older than RPO</Badge>
                  ) : (
                    <Badge kind="ok">within RPO</Badge>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function FailedJobs({ jobs }: { jobs: readonly Job[] }) {
  const since = Date.now() - DAY;
  const failed = jobs.filter((j) => (j.ended ?? j.started) >= since);
  return (
    <>
      <p class="big" data-testid="failed-count">
        {failed.length}
      </p>
      {failed.length > 0 ? (
        <ul class="plain">
          {failed.slice(0, 5).map((j) => (
            <li key={j.id}>
              {j.type} {j.disk ?? ""} — {j.error ?? "failed"}
            </li>
          ))}
        </ul>
      ) : (
        <p>No job failed in the last 24 hours.</p>
      )}
      <a href={href("jobs")}>All jobs</a>
    </>
  );
}

function StorageByTier({ points }: { points: readonly RecoveryPoint[] }) {
  const tiers = new Map<string, { stored: number; count: number }>();
  for (const p of points) {
    if (p.state === "purged") continue;
    const t = tiers.get(p.tier) ?? { stored: 0, count: 0 };
    tiers.set(p.tier, { stored: t.stored + p.bytesStored, count: t.count + 1 });
  }
  if (tiers.size === 0) return <p>Nothing stored yet.</p>;
  return (
    <dl class="pairs">
      {[...tiers].map(([tier, t]) => (
        <div key={tier}>
          <dt>{tier}</dt>
          <dd>
            {bytes(t.stored)} in {t.count} point{t.count === 1 ? "" : "s"}
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** The dashboard: what is protected and how recently, what failed, what is stored where. */
export function Dashboard() {
  const caller = useCaller();
  const items = useApi<Items<ProtectedItem>>("/protected-items", 5000);
  const points = useApi<Items<RecoveryPoint>>("/recovery-points", 5000);
  const policies = useApi<Items<Policy>>("/policies");
  const failed = useApi<Items<Job>>("/jobs?status=failed&limit=100", 5000);
  const ready =
    items.data && points.data && policies.data
      ? { items: items.data.items, points: points.data.items, policies: policies.data.items }
      : undefined;
  return (
    <>
      <h1>Dashboard</h1>
      <div class="cards">
        <Card title="Protected disks" id="protected" wide>
          <Loading data={ready} error={items.error ?? points.error ?? policies.error}>
            {(d) => <ProtectedDisks {...d} />}
          </Loading>
        </Card>
        <Card title="Failed jobs, last 24 h" id="failed">
          <Loading data={failed.data} error={failed.error}>
            {(d) => <FailedJobs jobs={d.items} />}
          </Loading>
        </Card>
        <Card title="Storage by tier" id="tiers">
          <Loading data={points.data} error={points.error}>
            {(d) => <StorageByTier points={d.items} />}
          </Loading>
        </Card>
        {may(caller.roles, "manage") && policies.data ? (
          <Card title="Protect a disk" id="protect">
            <ProtectForm policies={policies.data.items} onDone={items.reload} />
          </Card>
        ) : null}
      </div>
    </>
  );
}

import { useState } from "preact/hooks";
import { api, seg } from "../api.ts";
import { bytes, time } from "../format.ts";
import { may } from "../roles.ts";
import { useCaller } from "../session.ts";
import type { Approval, Items, RecoveryPoint } from "../types.ts";
import { useApi } from "../use-api.ts";
import { Badge, ErrorLine, Loading, Notice } from "../widgets.tsx";

/** What a critical operation would do, in words. */
export function describe(a: Approval): string {
  const target = a.target ?? "";
  switch (a.operation) {
    case "point.delete-early":
      return `Delete recovery point ${target} before its retention ends (it is soft-deleted, then purged).`;
    case "soft-delete.disable":
      return "Disable soft delete: deleted points are purged at once, with no way back.";
    case "soft-delete.shorten":
      return "Shorten the soft-delete period: deleted points are purged sooner.";
    case "policy.shorten-retention":
      return `Change policy ${target} so that existing points end sooner.`;
    case "lock.disable":
      return "Unlock the vault lock: points become deletable before their retention ends.";
    case "disk.stop-protection-delete":
      return `Stop protecting ${target} and delete its points.`;
    case "disk.change-policy":
      return `Move ${target} to a policy under which its points end sooner.`;
    case "vault.rotate-key":
      return "Rotate the vault key.";
    case "principal.add":
      return `Add principal ${target}.`;
    case "principal.remove":
      return `Remove principal ${target}.`;
    case "principal.set-roles":
      return `Change the roles of ${target}.`;
    default:
      return `${a.operation} ${target}`;
  }
}

/** The request again, with its approval, for the operations the console can repeat. */
function completion(a: Approval): (() => Promise<unknown>) | undefined {
  const approvalId = a.id;
  switch (a.operation) {
    case "point.delete-early":
      return () => api(`/recovery-points/${seg(a.target ?? "")}`, { method: "DELETE", approvalId });
    case "soft-delete.disable":
      return () => api("/vault/soft-delete", { method: "PUT", body: { enabled: false }, approvalId });
    case "lock.disable":
      return () => api("/vault/lock", { method: "PUT", body: { state: "unlocked" }, approvalId });
    default:
      return undefined;
  }
}

const KIND: Record<Approval["state"], string> = {
  pending: "warn",
  approved: "ok",
  used: "muted",
  rejected: "bad",
};

/** For an early delete: the point it would delete, so the approver sees what is at stake. */
function PointAtStake({ id }: { id: string }) {
  const point = useApi<RecoveryPoint>(`/recovery-points/${seg(id)}`);
  if (!point.data) return null;
  const p = point.data;
  return (
    <p data-testid="at-stake">
      The point of disk <strong>{p.disk}</strong> made {time(p.created)}: {bytes(p.logicalSize)}, {p.tier}{" "}
      tier, {p.state}, retained until {time(p.retainUntil)}.
    </p>
  );
}

function Request({ a, onChanged }: { a: Approval; onChanged: (message: string) => void }) {
  const caller = useCaller();
  const [error, setError] = useState<unknown>(undefined);
  const act = async (run: () => Promise<unknown>, message: string) => {
    setError(undefined);
    try {
      await run();
      onChanged(message);
    } catch (err) {
      setError(err);
    }
  };
  const live = a.expires > Date.now();
  const decides = live && a.state === "pending" && may(caller.roles, "secure") && a.requester !== caller.name;
  const complete = live && a.state === "approved" && a.requester === caller.name ? completion(a) : undefined;
  return (
    <li class="card request" data-approval={a.id} data-state={a.state}>
      <p class="what">{describe(a)}</p>
      {a.operation === "point.delete-early" && a.target && a.state === "pending" ? (
        <PointAtStake id={a.target} />
      ) : null}
      <p>
        <Badge kind={KIND[a.state]}>{live || a.state !== "pending" ? a.state : "expired"}</Badge> Requested by{" "}
        <strong>{a.requester}</strong> at {time(a.created)}; expires {time(a.expires)}.
        {a.approver ? ` Approved by ${a.approver}.` : ""}
        {a.rejecter ? ` Rejected by ${a.rejecter}.` : ""}
      </p>
      <p class="help">
        <code>{a.id}</code> · {a.operation}
      </p>
      <div class="actions">
        {decides ? (
          <>
            <button
              type="button"
              onClick={() =>
                act(() => api(`/approvals/${seg(a.id)}/approve`, { method: "POST" }), "Approved.")
              }
            >
              Approve
            </button>
            <button
              type="button"
              class="danger"
              onClick={() =>
                act(() => api(`/approvals/${seg(a.id)}/reject`, { method: "POST" }), "Rejected.")
              }
            >
              Reject
            </button>
          </>
        ) : null}
        {a.state === "pending" && a.requester === caller.name ? (
          <span class="help">Waiting for another security admin.</span>
        ) : null}
        {complete ? (
          <button type="button" onClick={() => act(complete, "Done.")}>
            Complete the operation
          </button>
        ) : null}
        {live && a.state === "approved" && a.requester === caller.name && !complete ? (
          <span class="help">
            Repeat the operation with <code>--approval {a.id}</code>.
          </span>
        ) : null}
      </div>
      <ErrorLine error={error} />
    </li>
  );
}

/** Requests for a second person's approval: what each would do, and who may decide it. */
export function Approvals() {
  const approvals = useApi<Items<Approval>>("/approvals", 3000);
  const [message, setMessage] = useState<string | undefined>(undefined);
  return (
    <>
      <h1>Approvals</h1>
      <p class="help">
        A critical operation waits here until a security admin other than its requester approves it; the
        requester then completes it, once, within 24 hours.
      </p>
      {message ? <Notice>{message}</Notice> : null}
      <Loading data={approvals.data} error={approvals.error}>
        {(d) =>
          d.items.length === 0 ? (
            <p>No approval request.</p>
          ) : (
            <ul class="plain requests">
              {d.items.map((a) => (
                <Request
                  key={a.id}
                  a={a}
                  onChanged={(m) => {
                    setMessage(m);
                    approvals.reload();
                  }}
                />
              ))}
            </ul>
          )
        }
      </Loading>
    </>
  );
}

import { useState } from "preact/hooks";
import { ApiError, api, seg } from "../api.ts";
import { bytes, time } from "../format.ts";
import { may } from "../roles.ts";
import { href } from "../route.ts";
import { useCaller } from "../session.ts";
import type { Items, RecoveryPoint } from "../types.ts";
import { useApi } from "../use-api.ts";
import { Badge, ErrorLine, Loading, Notice } from "../widgets.tsx";

/** What a delete or undelete led to, said to the user. */
type Outcome = { readonly point: string; readonly message: string } | undefined;

function PointEntry({ point, onChanged }: { point: RecoveryPoint; onChanged: (outcome: Outcome) => void }) {
  const caller = useCaller();
  const [error, setError] = useState<unknown>(undefined);
  const run = async (method: "DELETE" | "POST", path: string, done: string) => {
    setError(undefined);
    try {
      await api(path, { method });
      onChanged({ point: point.id, message: done });
    } catch (err) {
      if (err instanceof ApiError && err.approvalRequestId) {
        onChanged({
          point: point.id,
          message: `Deleting this point before its retention ends needs a second person: request ${err.approvalRequestId} is waiting on the Approvals page. Once a security admin approves it, complete the delete there.`,
        });
      } else setError(err);
    }
  };
  const deleted = point.state === "soft-deleted";
  return (
    <li class={`point ${deleted ? "point-deleted" : ""}`} data-point={point.id} data-state={point.state}>
      <div class="point-head">
        <time dateTime={new Date(point.created).toISOString()}>{time(point.created)}</time>
        <Badge kind={point.tier === "archive" ? "muted" : "info"}>{point.tier}</Badge>
        <Badge kind={point.consistency.startsWith("crash") ? "muted" : "ok"}>{point.consistency}</Badge>
        {deleted ? <Badge kind="bad">soft-deleted</Badge> : null}
      </div>
      <dl class="pairs compact">
        <div>
          <dt>Size</dt>
          <dd>
            {bytes(point.logicalSize)} ({bytes(point.bytesStored)} stored)
          </dd>
        </div>
        <div>
          <dt>Retained until</dt>
          <dd>{time(point.retainUntil)}</dd>
        </div>
        {deleted ? (
          <div>
            <dt>Purged after</dt>
            <dd>{time(point.deleteAfter)}</dd>
          </div>
        ) : null}
        <div>
          <dt>ID</dt>
          <dd>
            <code>{point.id}</code>
          </dd>
        </div>
      </dl>
      <div class="actions">
        {!deleted && may(caller.roles, "restore") ? (
          <a class="button" href={href("restore", point.id)}>
            Restore…
          </a>
        ) : null}
        {!deleted && may(caller.roles, "manage") ? (
          <button
            type="button"
            class="danger"
            onClick={() => run("DELETE", `/recovery-points/${seg(point.id)}`, "The point is soft-deleted.")}
          >
            Delete
          </button>
        ) : null}
        {deleted && may(caller.roles, "manage") ? (
          <button
            type="button"
            onClick={() =>
              run("POST", `/recovery-points/${seg(point.id)}/undelete`, "The point is available again.")
            }
          >
            Undelete
          </button>
        ) : null}
      </div>
      <ErrorLine error={error} />
    </li>
  );
}

/** A protected item's recovery points on a timeline, newest first. */
export function Points({ disk }: { disk: string }) {
  const points = useApi<Items<RecoveryPoint>>(`/recovery-points?disk=${seg(disk)}`, 5000);
  const [outcome, setOutcome] = useState<Outcome>(undefined);
  const changed = (o: Outcome) => {
    setOutcome(o);
    points.reload();
  };
  return (
    <>
      <h1>Recovery points of {disk}</h1>
      {outcome ? <Notice>{outcome.message}</Notice> : null}
      <Loading data={points.data} error={points.error}>
        {(d) =>
          d.items.length === 0 ? (
            <p>No recovery point yet.</p>
          ) : (
            <ol class="timeline" aria-label={`Recovery points of ${disk}, newest first`}>
              {d.items
                .filter((p) => p.state !== "purged")
                .map((p) => (
                  <PointEntry key={p.id} point={p} onChanged={changed} />
                ))}
            </ol>
          )
        }
      </Loading>
    </>
  );
}

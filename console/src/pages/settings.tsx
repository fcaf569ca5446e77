import { useState } from "preact/hooks";
import { ApiError, api } from "../api.ts";
import { bytes, time } from "../format.ts";
import { may } from "../roles.ts";
import { useCaller } from "../session.ts";
import type { Items, LockPreview, Principal, VaultSettings } from "../types.ts";
import { useApi } from "../use-api.ts";
import { Card, ErrorLine, Loading, Notice } from "../widgets.tsx";

/** Runs a change; a 428 becomes a message naming the request to approve. */
function useChange(onDone: () => void) {
  const [error, setError] = useState<unknown>(undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const run = async (change: () => Promise<unknown>, done: string) => {
    setError(undefined);
    setMessage(undefined);
    try {
      await change();
      setMessage(done);
      onDone();
    } catch (err) {
      if (err instanceof ApiError && err.approvalRequestId)
        setMessage(
          `This needs a second security admin: request ${err.approvalRequestId} is on the Approvals page.`,
        );
      else setError(err);
    }
  };
  return { error, message, run };
}

function SoftDelete({ settings, onDone }: { settings: VaultSettings; onDone: () => void }) {
  const caller = useCaller();
  const [days, setDays] = useState(settings.softDeleteDays);
  const change = useChange(onDone);
  const put = (body: object, done: string) =>
    change.run(() => api("/vault/soft-delete", { method: "PUT", body }), done);
  const admin = may(caller.roles, "secure");
  return (
    <Card title="Soft delete" id="soft-delete">
      <p>
        {settings.softDeleteEnabled
          ? `Deleted points stay restorable for ${settings.softDeleteDays} days.`
          : "Disabled: deleted points are purged at once."}
        {settings.softDeleteAlwaysOn ? " Always on (final)." : ""}
      </p>
      {admin ? (
        <form
          class="grid-form"
          onSubmit={(e) => {
            e.preventDefault();
            void put({ days }, `The soft-delete period is ${days} days.`);
          }}
        >
          <label for="soft-days">Period (14 to 180 days)</label>
          <input
            id="soft-days"
            type="number"
            min={14}
            max={180}
            value={days}
            onInput={(e) => setDays(Number(e.currentTarget.value))}
          />
          <button type="submit">Save period</button>
          {!settings.softDeleteAlwaysOn && settings.softDeleteEnabled ? (
            <button
              type="button"
              class="danger"
              onClick={() => put({ enabled: false }, "Soft delete is disabled.")}
            >
              Disable soft delete
            </button>
          ) : null}
          {!settings.softDeleteAlwaysOn ? (
            <button
              type="button"
              class="secondary"
              onClick={() =>
                confirm("Always-on soft delete can never be turned off. Go on?") &&
                put({ alwaysOn: true }, "Soft delete is always on.")
              }
            >
              Make always-on (final)
            </button>
          ) : null}
        </form>
      ) : null}
      {change.message ? <Notice>{change.message}</Notice> : null}
      <ErrorLine error={change.error} />
    </Card>
  );
}

function Lock({ settings, onDone }: { settings: VaultSettings; onDone: () => void }) {
  const caller = useCaller();
  const [preview, setPreview] = useState<LockPreview | undefined>(undefined);
  const [understood, setUnderstood] = useState(false);
  const change = useChange(() => {
    setPreview(undefined);
    setUnderstood(false);
    onDone();
  });
  const [previewError, setPreviewError] = useState<unknown>(undefined);
  const load = async () => {
    setPreviewError(undefined);
    try {
      setPreview(await api<LockPreview>("/vault/lock-preview"));
    } catch (err) {
      setPreviewError(err);
    }
  };
  const set = (state: string, done: string) =>
    change.run(() => api("/vault/lock", { method: "PUT", body: { state } }), done);
  const admin = may(caller.roles, "secure");
  return (
    <Card title="Vault lock" id="lock">
      <p>
        The lock is <strong data-testid="lock-state">{settings.lock}</strong>.{" "}
        {settings.lock === "locked"
          ? "Points cannot be deleted before their retention ends, by anyone, ever."
          : settings.lock === "enabled"
            ? "Points cannot be deleted early; locking makes that permanent."
            : "Enabling the lock forbids early deletes; locking it afterwards cannot be undone."}
      </p>
      {admin && settings.lock !== "locked" ? (
        <button type="button" onClick={load}>
          Preview what the lock commits to
        </button>
      ) : null}
      {preview ? (
        <div class="preview" data-testid="lock-preview">
          <p>
            {preview.points.length} point{preview.points.length === 1 ? "" : "s"} become undeletable until as
            late as {time(preview.until)}, holding {bytes(preview.bytesCommitted)}.
          </p>
          <div class="scroll">
            <table>
              <caption class="sr-only">Points the lock would keep</caption>
              <thead>
                <tr>
                  <th scope="col">Disk</th>
                  <th scope="col">Point</th>
                  <th scope="col">Kept until</th>
                  <th scope="col">Stored</th>
                </tr>
              </thead>
              <tbody>
                {preview.points.map((p) => (
                  <tr key={p.id}>
                    <td>{p.disk}</td>
                    <td>
                      <code>{p.id}</code>
                    </td>
                    <td>{time(p.until)}</td>
                    <td>{bytes(p.bytesStored)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {settings.lock === "unlocked" ? (
            <button type="button" onClick={() => set("enabled", "The lock is enabled.")}>
              Enable the lock
            </button>
          ) : (
            <>
              <label class="inline">
                <input
                  type="checkbox"
                  checked={understood}
                  onChange={(e) => setUnderstood(e.currentTarget.checked)}
                />
                I understand that locking cannot be undone
              </label>
              <button
                type="button"
                class="danger"
                disabled={!understood}
                onClick={() => set("locked", "The vault is locked for good.")}
              >
                Lock for good
              </button>
            </>
          )}
        </div>
      ) : null}
      {change.message ? <Notice>{change.message}</Notice> : null}
      <ErrorLine error={change.error ?? previewError} />
    </Card>
  );
}

function Principals() {
  const principals = useApi<Items<Principal>>("/principals");
  return (
    <Card title="Principals" id="principals">
      <Loading data={principals.data} error={principals.error}>
        {(d) =>
          d.items.length === 0 ? (
            <p>No principals: this vault is single-user.</p>
          ) : (
            <div class="scroll">
              <table>
                <caption class="sr-only">Who may use the vault</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Roles</th>
                    <th scope="col">Added</th>
                    <th scope="col">By</th>
                  </tr>
                </thead>
                <tbody>
                  {d.items.map((p) => (
                    <tr key={p.name}>
                      <th scope="row">{p.name}</th>
                      <td>{p.roles.join(", ")}</td>
                      <td>{time(p.created)}</td>
                      <td>{p.createdBy}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loading>
      <p class="help">
        Principals are added and removed with <code>blockvault principal</code>, each change approved by a
        second security admin.
      </p>
    </Card>
  );
}

/** Vault settings: soft delete, the lock with its preview before the irreversible step, principals. */
export function Settings() {
  const settings = useApi<VaultSettings>("/vault/settings");
  return (
    <>
      <h1>Vault settings</h1>
      <Loading data={settings.data} error={settings.error}>
        {(s) => (
          <div class="cards">
            <SoftDelete settings={s} onDone={settings.reload} />
            <Lock settings={s} onDone={settings.reload} />
            <Principals />
            <Card title="Restore directories" id="restore-dirs">
              {s.restoreDirectories.length === 0 ? (
                <p>None: restores over HTTP cannot write files.</p>
              ) : (
                <ul>
                  {s.restoreDirectories.map((d) => (
                    <li key={d}>
                      <code>{d}</code>
                    </li>
                  ))}
                </ul>
              )}
            </Card>
          </div>
        )}
      </Loading>
    </>
  );
}

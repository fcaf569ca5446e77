import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { bytes, time } from "../format.ts";
import { may } from "../roles.ts";
import { useCaller } from "../session.ts";
import type { LockPreview, VaultSettings } from "../types.ts";
import { Card, ErrorLine, Notice } from "../widgets.tsx";
import { useChange } from "./use-change.ts";

/**
 * The vault lock: its preview (the points it would keep, until when, their storage) must be
 * shown before the lock can be enabled, and locking for good needs an explicit confirmation.
 */
export function Lock({ settings, onDone }: { settings: VaultSettings; onDone: () => void }) {
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
            {preview.points.length} point{preview.points.length === 1 ? "" : "s"} become
            {preview.points.length === 1 ? "s" : ""} undeletable until as late as {time(preview.until)},
            holding {bytes(preview.bytesCommitted)}.
          </p>
          <div class="scroll" hidden={preview.points.length === 0}>
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

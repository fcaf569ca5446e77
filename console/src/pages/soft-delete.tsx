import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { may } from "../roles.ts";
import { useCaller } from "../session.ts";
import type { VaultSettings } from "../types.ts";
import { Card, ErrorLine, Notice } from "../widgets.tsx";
import { useChange } from "./use-change.ts";

/** Soft delete: the period, disabling it (critical), making it always-on (final). */
export function SoftDelete({ settings, onDone }: { settings: VaultSettings; onDone: () => void }) {
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

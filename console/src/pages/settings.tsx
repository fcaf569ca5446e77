import { time } from "../format.ts";
import type { Items, Principal, VaultSettings } from "../types.ts";
import { useApi } from "../use-api.ts";
import { Card, Loading } from "../widgets.tsx";
import { Lock } from "./lock.tsx";
import { SoftDelete } from "./soft-delete.tsx";

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

import { useState } from "preact/hooks";
import { ApiError, apiBlob, seg } from "../api.ts";
import { bytes, time } from "../format.ts";
import { href } from "../route.ts";
import { useApi } from "../use-api.ts";
import { ErrorLine, Loading } from "../widgets.tsx";

interface Volume {
  readonly id: string;
  readonly size: number;
  readonly fileSystem?: string;
  readonly label?: string;
  readonly browsable: boolean;
}

interface FileEntry {
  readonly name: string;
  readonly type: "file" | "directory" | "symlink" | "other";
  readonly size: number;
  readonly mode: string;
  readonly mtime: string;
  readonly target?: string;
}

interface Listing {
  readonly partition: string;
  readonly path: string;
  readonly entries: readonly FileEntry[];
}

const join = (dir: string, name: string) => `${dir.replace(/\/$/, "")}/${name}`;
const parent = (dir: string) => dir.replace(/\/[^/]+\/?$/, "") || "/";

/** Downloads one file of the point through the API (the token travels in a header, not a link). */
async function download(pointId: string, partition: string, path: string, name: string): Promise<void> {
  const query = `partition=${seg(partition)}&path=${seg(path)}`;
  const blob = await apiBlob(`/recovery-points/${seg(pointId)}/files/content?${query}`);
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function Directory({ pointId, partition }: { pointId: string; partition: string }) {
  const [path, setPath] = useState("/");
  const [error, setError] = useState<unknown>(undefined);
  const listing = useApi<Listing>(
    `/recovery-points/${seg(pointId)}/files?partition=${seg(partition)}&path=${seg(path)}`,
  );
  return (
    <section class="card" aria-labelledby="dir-heading">
      <h2 id="dir-heading">
        {partition}: <code data-testid="files-path">{path}</code>
      </h2>
      {path !== "/" ? (
        <button type="button" class="secondary" onClick={() => setPath(parent(path))}>
          Up
        </button>
      ) : null}
      <ErrorLine error={error} />
      <Loading data={listing.data} error={listing.error}>
        {(l) => (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Size</th>
                <th scope="col">Mode</th>
                <th scope="col">Modified</th>
              </tr>
            </thead>
            <tbody>
              {l.entries.map((e) => (
                <tr key={e.name}>
                  <td>
                    {e.type === "directory" ? (
                      <button type="button" class="link" onClick={() => setPath(join(path, e.name))}>
                        {e.name}/
                      </button>
                    ) : e.type === "file" ? (
                      <button
                        type="button"
                        class="link"
                        aria-label={`Download ${e.name}`}
                        onClick={() =>
                          download(pointId, partition, join(path, e.name), e.name).then(
                            () => setError(undefined),
                            setError,
                          )
                        }
                      >
                        {e.name}
                      </button>
                    ) : (
                      <span>
                        {e.name}
                        {e.target ? ` → ${e.target}` : ""}
                      </span>
                    )}
                  </td>
                  <td>{e.type === "file" ? bytes(e.size) : ""}</td>
                  <td>
                    <code>{e.mode}</code>
                  </td>
                  <td>{time(Date.parse(e.mtime))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
    </section>
  );
}

/** File-level recovery: a point's volumes, then a directory at a time; a file downloads. */
export function FileBrowser({ pointId }: { pointId: string }) {
  const volumes = useApi<{ items: Volume[] }>(`/recovery-points/${seg(pointId)}/partitions`);
  const [partition, setPartition] = useState<string | undefined>(undefined);
  const denied = volumes.error instanceof ApiError && volumes.error.status === 403;
  return (
    <>
      <h1>Files of a recovery point</h1>
      <p>
        <a href={href("restore", pointId)}>Restore the whole disk instead</a>
      </p>
      {denied ? (
        <p class="error" role="alert">
          Reading files of a point needs the operator role.
        </p>
      ) : (
        <Loading data={volumes.data} error={volumes.error}>
          {(v) => (
            <section class="card" aria-labelledby="volumes-heading">
              <h2 id="volumes-heading">Volumes</h2>
              <ul>
                {v.items.map((vol) => (
                  <li key={vol.id}>
                    <button
                      type="button"
                      class={partition === vol.id ? "" : "secondary"}
                      disabled={!vol.browsable}
                      onClick={() => setPartition(vol.id)}
                    >
                      {vol.id}
                    </button>{" "}
                    {vol.fileSystem ?? "unknown"}, {bytes(vol.size)}
                    {vol.label ? ` (${vol.label})` : ""}
                    {vol.browsable ? "" : " — not browsable here; use blockvault export --nbd"}
                  </li>
                ))}
              </ul>
            </section>
          )}
        </Loading>
      )}
      {partition ? <Directory key={partition} pointId={pointId} partition={partition} /> : null}
    </>
  );
}

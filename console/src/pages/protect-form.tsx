import { useState } from "preact/hooks";
import { api } from "../api.ts";
import type { Policy } from "../types.ts";
import { ErrorLine, Notice } from "../widgets.tsx";

/** Protects a disk under a policy (contributor). */
export function ProtectForm({ policies, onDone }: { policies: readonly Policy[]; onDone: () => void }) {
  const [disk, setDisk] = useState("");
  const [source, setSource] = useState("");
  const [policy, setPolicy] = useState(policies[0]?.name ?? "");
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      await api("/protected-items", { method: "POST", body: { disk, source, policy } });
      setDone(`${disk} is protected by ${policy}.`);
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  if (policies.length === 0) return <p>Create a policy first (Policies).</p>;
  return (
    <form onSubmit={submit} class="grid-form">
      <label for="protect-disk">Disk name</label>
      <input id="protect-disk" required value={disk} onInput={(e) => setDisk(e.currentTarget.value)} />
      <label for="protect-source">Source (image path)</label>
      <input id="protect-source" required value={source} onInput={(e) => setSource(e.currentTarget.value)} />
      <label for="protect-policy">Policy</label>
      <select id="protect-policy" value={policy} onChange={(e) => setPolicy(e.currentTarget.value)}>
        {policies.map((p) => (
          <option key={p.name} value={p.name}>
            {p.name}
          </option>
        ))}
      </select>
      <button type="submit">Protect</button>
      <ErrorLine error={error} />
      {done ? <Notice>{done}</Notice> : null}
    </form>
  );
}

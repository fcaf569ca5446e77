import { useState } from "preact/hooks";
import { api, storeToken } from "./api.ts";
import type { Caller } from "./types.ts";
import { ErrorLine } from "./widgets.tsx";

/** Signs in with an API token: checked with `GET /me`, then kept in this tab's sessionStorage. */
export function Login({ onSignedIn }: { onSignedIn: (caller: Caller) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const caller = await api<Caller>("/me", { token: token.trim() });
      storeToken(token.trim());
      onSignedIn(caller);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <main id="main" class="login">
      <h1>blockvault</h1>
      <form onSubmit={submit} class="card">
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          aria-describedby="token-help"
        />
        <p id="token-help" class="help">
          A principal's token from <code>blockvault principal add</code>, or, in a vault without principals,
          the contents of <code>serve-token</code> in the vault directory. It is kept in this tab only.
        </p>
        <button type="submit">Sign in</button>
        <ErrorLine error={error} />
      </form>
    </main>
  );
}

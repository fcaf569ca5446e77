import { useState } from "preact/hooks";
import { type AwsCredentials, api, regionOfHost, storeAws, storeToken } from "./api.ts";
import type { Caller } from "./types.ts";
import { ErrorLine } from "./widgets.tsx";

/** Signs in with an API token: checked with `GET /me`, then kept in this tab's sessionStorage. */
function TokenForm({ onSignedIn }: { onSignedIn: (caller: Caller) => void }) {
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
        A principal's token from <code>blockvault principal add</code>, or, in a vault without principals, the
        contents of <code>serve-token</code> in the vault directory. It is kept in this tab only.
      </p>
      <button type="submit">Sign in</button>
      <ErrorLine error={error} />
    </form>
  );
}

/**
 * Signs in to the deployed API with temporary AWS credentials (an IAM identity the vault knows):
 * every request is SigV4-signed in the page, as the CLI signs its own.
 */
function AwsForm({ onSignedIn }: { onSignedIn: (caller: Caller) => void }) {
  const [fields, setFields] = useState({
    accessKeyId: "",
    secretAccessKey: "",
    sessionToken: "",
    region: regionOfHost(location.hostname) ?? "",
  });
  const [error, setError] = useState<unknown>(undefined);
  const field = (name: keyof typeof fields, label: string, secret = false, required = true) => (
    <>
      <label for={`aws-${name}`}>{label}</label>
      {secret ? (
        <input
          id={`aws-${name}`}
          type="password"
          autocomplete="off"
          required={required}
          value={fields[name]}
          onInput={(e) => setFields({ ...fields, [name]: e.currentTarget.value.trim() })}
        />
      ) : (
        <input
          id={`aws-${name}`}
          type="text"
          autocomplete="off"
          required={required}
          value={fields[name]}
          onInput={(e) => setFields({ ...fields, [name]: e.currentTarget.value.trim() })}
        />
      )}
    </>
  );
  const submit = async (event: Event) => {
    event.preventDefault();
    const aws: AwsCredentials = {
      accessKeyId: fields.accessKeyId,
      secretAccessKey: fields.secretAccessKey,
      region: fields.region,
      ...(fields.sessionToken ? { sessionToken: fields.sessionToken } : {}),
    };
    try {
      const caller = await api<Caller>("/me", { aws });
      storeAws(aws);
      onSignedIn(caller);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <details class="card">
      <summary>Sign in with AWS credentials (the deployed API)</summary>
      <form onSubmit={submit}>
        {field("accessKeyId", "Access key ID")}
        {field("secretAccessKey", "Secret access key", true)}
        {field("sessionToken", "Session token (temporary credentials)", true, false)}
        {field("region", "Region")}
        <p class="help">
          For example from <code>aws configure export-credentials</code>. Kept in this tab only; prefer
          short-lived credentials.
        </p>
        <button type="submit">Sign in with AWS</button>
        <ErrorLine error={error} />
      </form>
    </details>
  );
}

/** The sign-in page: a token for `blockvault serve`, or AWS credentials for the deployed API. */
export function Login({ onSignedIn }: { onSignedIn: (caller: Caller) => void }) {
  return (
    <main id="main" class="login">
      <h1>blockvault</h1>
      <TokenForm onSignedIn={onSignedIn} />
      <AwsForm onSignedIn={onSignedIn} />
    </main>
  );
}

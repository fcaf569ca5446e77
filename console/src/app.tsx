import { useEffect, useState } from "preact/hooks";
import { api, signedIn, signOut } from "./api.ts";
import { Login } from "./login.tsx";
import { Approvals } from "./pages/approvals.tsx";
import { Dashboard } from "./pages/dashboard.tsx";
import { Jobs } from "./pages/jobs.tsx";
import { Points } from "./pages/points.tsx";
import { Policies } from "./pages/policies.tsx";
import { RestoreWizard } from "./pages/restore.tsx";
import { Settings } from "./pages/settings.tsx";
import { href, type Route, useRoute } from "./route.ts";
import { SessionContext } from "./session.ts";
import type { Caller } from "./types.ts";

const NAV: readonly { page: Route["page"]; label: string }[] = [
  { page: "dashboard", label: "Dashboard" },
  { page: "jobs", label: "Jobs" },
  { page: "approvals", label: "Approvals" },
  { page: "policies", label: "Policies" },
  { page: "settings", label: "Settings" },
];

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "items":
      return <Points disk={route.param ?? ""} />;
    case "restore":
      return <RestoreWizard pointId={route.param ?? ""} />;
    case "jobs":
      return <Jobs />;
    case "approvals":
      return <Approvals />;
    case "settings":
      return <Settings />;
    case "policies":
      return <Policies />;
    default:
      return <Dashboard />;
  }
}

/** The console: sign-in, then the navigation and the page the hash names. */
export function App() {
  const route = useRoute();
  const [caller, setCaller] = useState<Caller | undefined>(undefined);
  const [checking, setChecking] = useState(signedIn());
  useEffect(() => {
    if (!checking) return;
    api<Caller>("/me").then(
      (c) => {
        setCaller(c);
        setChecking(false);
      },
      () => {
        signOut();
        setChecking(false);
      },
    );
  }, [checking]);
  if (checking) return <p aria-busy="true">Signing in…</p>;
  if (!caller) return <Login onSignedIn={setCaller} />;
  const leave = () => {
    signOut();
    setCaller(undefined);
  };
  return (
    <SessionContext.Provider value={caller}>
      {/* A button, not a link to #main: the hash is the console's route. */}
      <button type="button" class="skip" onClick={() => document.getElementById("main")?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <span class="brand">blockvault</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.page}>
                <a href={href(n.page)} aria-current={route.page === n.page ? "page" : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          <span data-testid="caller">
            {caller.name} ({caller.roles.join(", ")})
          </span>
          <button type="button" class="link" onClick={leave}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </SessionContext.Provider>
  );
}

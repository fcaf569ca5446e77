import { useEffect, useState } from "preact/hooks";

/** A page of the console and its parameter, from the location's hash (`#/items/web01`). */
export interface Route {
  readonly page: "dashboard" | "items" | "restore" | "jobs" | "approvals" | "settings" | "policies";
  readonly param?: string;
}

const PAGES: readonly Route["page"][] = ["items", "restore", "jobs", "approvals", "settings", "policies"];

/** The route a hash names; the dashboard for anything else. */
export function parseRoute(hash: string): Route {
  const [page, param] = hash.replace(/^#\/?/, "").split("/");
  const known = PAGES.find((p) => p === page);
  if (!known) return { page: "dashboard" };
  return param ? { page: known, param: decodeURIComponent(param) } : { page: known };
}

/** The hash of a route, for links. */
export function href(page: Route["page"], param?: string): string {
  if (page === "dashboard") return "#/";
  return param === undefined ? `#/${page}` : `#/${page}/${encodeURIComponent(param)}`;
}

/** The current route, following the browser's back and forward buttons. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}

import type { HttpResponse } from "../http/types.ts";
import type { ConsoleAssets } from "./assets.ts";

/** Where the console is served: the same origin as the API, so the same tokens and no CORS. */
export const CONSOLE_PATH = "/console/";

/**
 * What the console's pages may load: only this server's own scripts, styles and API. No inline
 * script runs, no other site frames it, and a link out sends no Referer naming the vault.
 */
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
} as const;

const text = (status: number, body: string, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  body,
});

/**
 * The answer to a request under `/console`, or undefined for any other path (the API's). The
 * files are public code and carry no data, so they need no token: every call they make does.
 */
export function consoleResponse(
  assets: ConsoleAssets | undefined,
  method: string,
  path: string,
): HttpResponse | undefined {
  if (path !== "/console" && !path.startsWith(CONSOLE_PATH)) return undefined;
  if (method !== "GET" && method !== "HEAD")
    return text(405, "the console is read with GET\n", { allow: "GET, HEAD" });
  if (path === "/console") return text(308, "", { location: CONSOLE_PATH });
  if (!assets)
    return text(503, "the web console is not built: run `npm run build:console`, then restart serve\n");
  const name = path.slice(CONSOLE_PATH.length) || "index.html";
  const asset = assets.get(name);
  if (!asset) return text(404, `no such console file: ${name.slice(0, 100)}\n`);
  return { status: 200, headers: { "content-type": asset.type, ...PAGE_HEADERS }, body: asset.body };
}

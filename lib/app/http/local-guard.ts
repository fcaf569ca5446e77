import { isIP } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import { errorResponse } from "./errors.ts";
import type { HttpResponse } from "./types.ts";

/**
 * What a request to `blockvault serve` must name: the host names and the port the server
 * answers to. A browser on this machine can send requests to a loopback port from any page it
 * loads, by a cross-site form or fetch, or by DNS rebinding (a name the attacker controls that
 * first resolves to their server, then to 127.0.0.1). The first carries the page's `Origin`, the
 * second the attacker's name in `Host`; checking both against this list stops both.
 */
export interface LocalAuthority {
  /** Lower-case host names and address literals (IPv6 without brackets). */
  readonly hosts: ReadonlySet<string>;
  readonly port: number;
}

/** Whether `address` is a loopback address literal (127.0.0.0/8, ::1, ::ffff:127.x). */
export function isLoopbackAddress(address: string): boolean {
  const plain = address.replace(/^\[|\]$/g, "").toLowerCase();
  if (isIP(plain) === 4) return plain.startsWith("127.");
  if (isIP(plain) === 6) return plain === "::1" || /^::ffff:127\./.test(plain);
  return false;
}

/**
 * The names a server listening on `address:port` answers to: `localhost`, the listening address,
 * the name it was started with (`--host`), and, when it listens on loopback, the usual loopback
 * literals.
 */
export function localAuthority(address: string, port: number, configuredHost?: string): LocalAuthority {
  const hosts = new Set<string>(["localhost", address.toLowerCase()]);
  if (configuredHost) hosts.add(configuredHost.replace(/^\[|\]$/g, "").toLowerCase());
  if (isLoopbackAddress(address) || address === "localhost") {
    for (const literal of ["127.0.0.1", "::1"]) hosts.add(literal);
  }
  // Listening on every interface (only allowed with principals): the machine's own names.
  if (address === "0.0.0.0" || address === "::") {
    hosts.add(hostname().toLowerCase());
    for (const list of Object.values(networkInterfaces())) {
      for (const nic of list ?? []) hosts.add(nic.address.toLowerCase());
    }
  }
  return { hosts, port };
}

/** `host[:port]` of a Host header or an origin's authority, split; undefined if malformed. */
function splitAuthority(value: string): { host: string; port: number | undefined } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/@\s]+)(?::(\d{1,5}))?$/.exec(value.trim());
  if (!m) return undefined;
  return {
    host: m[1]!
      .replace(/^\[|\]$/g, "")
      .toLowerCase()
      .replace(/\.$/, ""),
    port: m[2] === undefined ? undefined : Number(m[2]),
  };
}

function names(authority: LocalAuthority, value: string, defaultPort: number): boolean {
  const parts = splitAuthority(value);
  if (!parts) return false;
  return authority.hosts.has(parts.host) && (parts.port ?? defaultPort) === authority.port;
}

/**
 * Refuses a request whose `Host` is not one of the server's own names (421, as HTTP says of a
 * request sent to a server that is not configured for it), or whose `Origin` — present on every
 * cross-origin browser request — is another site's (403). Returns undefined for a request that
 * may go on. There is no CORS: no `Access-Control-Allow-*` header is ever sent, so a preflight
 * from a page fails in the browser.
 */
export function refuseForeignRequest(
  authority: LocalAuthority,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): HttpResponse | undefined {
  const host = headers.host;
  if (typeof host !== "string" || !names(authority, host, 80)) {
    return errorResponse(
      421,
      "MISDIRECTED_REQUEST",
      `this server answers only to localhost:${authority.port} and its own address: the Host header names ${typeof host === "string" ? JSON.stringify(host.slice(0, 100)) : "nothing"}`,
    );
  }
  const origin = headers.origin;
  if (origin !== undefined) {
    const m = typeof origin === "string" ? /^http:\/\/([^/]+)$/i.exec(origin.trim()) : null;
    if (!m || !names(authority, m[1]!, 80)) {
      return errorResponse(403, "FOREIGN_ORIGIN", "requests from web pages of other origins are refused");
    }
  }
  if (headers["sec-fetch-site"] === "cross-site") {
    return errorResponse(403, "FOREIGN_ORIGIN", "requests from web pages of other sites are refused");
  }
  return undefined;
}

/**
 * Refuses a request that carries a body in anything but JSON (415), judged from its headers
 * alone so the body is never read. A form or a `text/plain` fetch from a web page needs no CORS
 * preflight; `application/json` does, and there is no CORS.
 */
export function refuseNonJsonBody(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): HttpResponse | undefined {
  const length = headers["content-length"];
  const hasBody =
    headers["transfer-encoding"] !== undefined || (typeof length === "string" && length.trim() !== "0");
  if (!hasBody) return undefined;
  const type = headers["content-type"];
  const media = typeof type === "string" ? type.split(";")[0]!.trim().toLowerCase() : "";
  if (media === "application/json") return undefined;
  return errorResponse(
    415,
    "UNSUPPORTED_MEDIA_TYPE",
    `request bodies must be JSON (Content-Type: application/json), got ${media === "" ? "no Content-Type" : JSON.stringify(media.slice(0, 100))}`,
  );
}

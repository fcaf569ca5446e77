import type { createServer, Server } from "node:http";
import type { ConsoleAssets } from "../console/assets.ts";
import { consoleResponse } from "../console/serve-console.ts";
import { type LocalAuthority, refuseForeignRequest } from "./local-guard.ts";
import { writeNodeResponse } from "./node-http.ts";
import type { HttpResponse } from "./types.ts";

/** A request listener of `node:http`. */
export type Listener = Parameters<typeof createServer>[1] & {};

/**
 * The embedded server's front: refuses requests that do not name this server (Host) or come
 * from another site's page (Origin), serves without credentials the API's OpenAPI document and
 * the web console's files (they hold nothing secret; clients and fuzzers read the document first,
 * and the console asks for a token before its first call) and the health check (a probe rarely
 * holds a token; it answers only ok or unreachable per dependency), and hands the rest to the API.
 */
export function guarded(
  api: Listener,
  authority: () => LocalAuthority | undefined,
  specText: string,
  health?: () => Promise<HttpResponse>,
  console?: ConsoleAssets,
): Listener {
  return (message, out) => {
    const known = authority();
    const refused = known
      ? refuseForeignRequest(known, message.headers)
      : { status: 503, headers: {}, body: "" };
    if (refused) {
      message.resume();
      writeNodeResponse(out, { ...refused, headers: { ...refused.headers, connection: "close" } });
      return;
    }
    const path = (message.url ?? "").split("?")[0] ?? "";
    const page = consoleResponse(console, message.method ?? "GET", path);
    if (page) {
      message.resume();
      writeNodeResponse(out, page);
      return;
    }
    if (path === "/openapi.json" && message.method === "GET") {
      message.resume();
      writeNodeResponse(out, {
        status: 200,
        headers: { "content-type": "application/json; charset=utf-8" },
        body: specText,
      });
      return;
    }
    if (health && (message.url ?? "").split("?")[0] === "/healthz" && message.method === "GET") {
      message.resume();
      void health().then((response) => writeNodeResponse(out, response));
      return;
    }
    api(message, out);
  };
}

/** Starts `server` listening on `host`:`port`; rejects when it cannot. */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { AppContext } from "../app-context.ts";
import { errorResponse } from "./errors.ts";
import { handleHttp } from "./handle.ts";
import { refuseNonJsonBody } from "./local-guard.ts";
import type { HttpRequest, HttpResponse, ResolvePrincipal } from "./types.ts";

/** The largest body read: the API's bodies are small JSON documents. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** A body larger than {@link MAX_BODY_BYTES}. */
class BodyTooLarge extends Error {}

async function readBody(message: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of message) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return size === 0 ? undefined : Buffer.concat(chunks).toString("utf8");
}

/**
 * A node:http request as an HttpRequest. node:http authenticates nobody, so there is no
 * `caller`: the embedded runtime finds the caller from its bearer token.
 */
export async function fromNodeRequest(
  message: IncomingMessage,
  limit = MAX_BODY_BYTES,
): Promise<HttpRequest> {
  const url = new URL(message.url ?? "/", "http://localhost");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return {
    method: message.method ?? "GET",
    path: url.pathname,
    query: firstValues(url.searchParams),
    headers,
    body: await readBody(message, limit),
  };
}

/** Writes an HttpResponse to a node:http response. */
export function writeNodeResponse(out: ServerResponse, response: HttpResponse): void {
  const secure = {
    // Nothing the API answers is a page, nor to be kept by a cache on the way.
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
  };
  if (response.stream) {
    out.writeHead(response.status, { ...secure, ...response.headers });
    // A failure mid-stream can no longer change the status: the connection is cut, so the
    // client sees a short body (against its Content-Length, or no final chunk), never a whole one.
    pipeline(Readable.from(response.stream), out).catch(() => out.destroy());
    return;
  }
  out.writeHead(response.status, {
    ...secure,
    ...response.headers,
    "content-length": String(Buffer.byteLength(response.body)),
  });
  out.end(response.body);
}

/**
 * A `node:http` request listener serving the API: `createServer(nodeListener(app, resolve))`.
 * This is how `blockvault serve` mounts the same handlers the Lambda runs.
 */
export function nodeListener(
  app: AppContext,
  resolvePrincipal: ResolvePrincipal,
): (message: IncomingMessage, out: ServerResponse) => void {
  return (message, out) => {
    void (async () => {
      let response: HttpResponse;
      try {
        const refused = refuseNonJsonBody(message.headers);
        if (refused) {
          // The body is not read: close the connection rather than drain it.
          writeNodeResponse(out, { ...refused, headers: { ...refused.headers, connection: "close" } });
          return;
        }
        response = await handleHttp(app, await fromNodeRequest(message), resolvePrincipal);
      } catch (err) {
        response =
          err instanceof BodyTooLarge
            ? {
                ...errorResponse(413, "PAYLOAD_TOO_LARGE", `the body is larger than ${MAX_BODY_BYTES} bytes`),
                headers: { "content-type": "application/json; charset=utf-8", connection: "close" },
              }
            : errorResponse(400, "INVALID_INPUT", "the request could not be read");
      }
      writeNodeResponse(out, response);
    })();
  };
}

/** The first value of each query parameter (API Gateway events follow the same rule). */
export function firstValues(search: URLSearchParams): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, value] of search) if (!(name in query)) query[name] = value;
  return query;
}

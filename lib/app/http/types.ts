import type { Principal } from "../../rules/roles.ts";

/**
 * An HTTP request as the API handlers see it, whatever carried it (API Gateway, node:http).
 * Header names are lower-case; the query holds one value per name (the first one given).
 */
export interface HttpRequest {
  readonly method: string;
  /** The path without query string, percent-encoded as received (`/policies/daily%2030`). */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  /** The body as text, or undefined when there is none. */
  readonly body: string | undefined;
  /**
   * Who the transport authenticated, when it did: the IAM ARN API Gateway verified the SigV4
   * signature of. Absent for transports that authenticate nothing themselves (node:http).
   */
  readonly caller?: string;
}

/**
 * An HTTP response; `body` is already serialised (JSON) or empty. A file's bytes come as a
 * `stream` instead (body empty), produced as the transport writes them; the response's headers
 * then carry its Content-Length when it is known.
 */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly stream?: AsyncIterable<Buffer>;
}

/**
 * Finds who is calling: from the IAM identity in the cloud, from a bearer token embedded.
 * Rejects with AccessDeniedError for a caller that is not known.
 */
export type ResolvePrincipal = (request: HttpRequest) => Promise<Principal>;

/** A JSON response. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify(body),
  };
}

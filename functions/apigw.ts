import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { firstValues } from "../lib/app/http/node-http.ts";
import type { HttpRequest, HttpResponse } from "../lib/app/http/types.ts";

/**
 * The path as the API knows it. On a named stage (not `$default`) API Gateway keeps the stage
 * in `rawPath` (`/dev/restores`); routes do not include it.
 */
function apiPath(event: APIGatewayProxyEventV2WithIAMAuthorizer): string {
  const stage = event.requestContext.stage;
  const path = event.rawPath;
  if (stage && stage !== "$default" && (path === `/${stage}` || path.startsWith(`/${stage}/`))) {
    return path.slice(stage.length + 1) || "/";
  }
  return path;
}

/**
 * An API Gateway HTTP API event (payload format 2.0, IAM authorization) as an HttpRequest. The
 * caller is the IAM ARN API Gateway verified the signature of.
 */
export function fromApiGateway(event: APIGatewayProxyEventV2WithIAMAuthorizer): HttpRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const body =
    event.body === undefined
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, "base64").toString("utf8")
        : event.body;
  const caller = event.requestContext.authorizer?.iam?.userArn;
  return {
    method: event.requestContext.http.method,
    path: apiPath(event),
    query: firstValues(new URLSearchParams(event.rawQueryString ?? "")),
    headers,
    body,
    ...(caller ? { caller } : {}),
  };
}

/** An HttpResponse as the structured result API Gateway expects. */
export function toApiGateway(response: HttpResponse): APIGatewayProxyStructuredResultV2 {
  return { statusCode: response.status, headers: { ...response.headers }, body: response.body };
}

/**
 * A streamed HttpResponse (a file's bytes) as API Gateway's result, base64-encoded. API Gateway
 * carries a response of at most 10 MB: a larger file is refused (read it with blockvault files
 * get, or with Range requests of a few MB at a time).
 */
export async function toApiGatewayBinary(response: HttpResponse): Promise<APIGatewayProxyStructuredResultV2> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of response.stream ?? []) {
    bytes += chunk.length;
    if (bytes > MAX_BINARY_RESPONSE) {
      return {
        statusCode: 413,
        headers: { "content-type": "application/json; charset=utf-8" },
        body: JSON.stringify({
          code: "PAYLOAD_TOO_LARGE",
          message: `the response is larger than ${MAX_BINARY_RESPONSE} bytes, which API Gateway cannot carry: ask for a Range`,
        }),
      };
    }
    chunks.push(chunk);
  }
  return {
    statusCode: response.status,
    headers: { ...response.headers },
    body: Buffer.concat(chunks).toString("base64"),
    isBase64Encoded: true,
  };
}

/** Bytes of a binary body API Gateway can return once base64-encoded (its limit is 10 MB). */
const MAX_BINARY_RESPONSE = 7 * 1024 * 1024;

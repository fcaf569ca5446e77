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

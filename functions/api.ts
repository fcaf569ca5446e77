import middy from "@middy/core";
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { fromApiGateway, toApiGateway } from "../lib/app/http/apigw.ts";
import { handleHttp } from "../lib/app/http/handle.ts";
import { iamPrincipals, parseIamRoleMap } from "../lib/app/http/principals.ts";
import type { ResolvePrincipal } from "../lib/app/http/types.ts";
import { BlockvaultError } from "../lib/errors.ts";
import { logger } from "./observability.ts";
import { cloudApp } from "./runtime.ts";

let principals: ResolvePrincipal | undefined;

/**
 * The IAM → roles map, read once per container from BLOCKVAULT_PRINCIPALS. A broken setting
 * fails every request with a 500 naming it (the deployment is wrong, not the request), and is
 * never applied in part.
 */
function resolvePrincipal(): ResolvePrincipal {
  if (!principals) {
    try {
      principals = iamPrincipals(parseIamRoleMap(process.env.BLOCKVAULT_PRINCIPALS));
    } catch (err) {
      throw new BlockvaultError(`the deployment's principals are misconfigured: ${(err as Error).message}`);
    }
  }
  return principals;
}

/**
 * API Gateway HTTP API (payload 2.0, IAM authorization) → the HTTP API's handlers: the caller
 * is the verified IAM identity, mapped to vault roles; routing, validation and error mapping
 * are lib/app/http's, shared with `blockvault serve`.
 */
export const handler = middy(
  async (event: APIGatewayProxyEventV2WithIAMAuthorizer): Promise<APIGatewayProxyStructuredResultV2> => {
    const response = await handleHttp(
      await cloudApp(),
      fromApiGateway(event),
      (request) => resolvePrincipal()(request),
      {
        log: (err) => logger.error("request failed", { path: event.rawPath, error: err as Error }),
      },
    );
    logger.info("request", {
      method: event.requestContext.http.method,
      path: event.rawPath,
      status: response.status,
      caller: event.requestContext.authorizer?.iam?.userArn,
    });
    return toApiGateway(response);
  },
);

import { fileURLToPath } from "node:url";
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { type ConsoleAssets, loadConsoleAssets } from "../lib/app/console/assets.ts";
import { consoleResponse } from "../lib/app/console/serve-console.ts";
import { handleHttp } from "../lib/app/http/handle.ts";
import { storedIamPrincipals } from "../lib/app/http/principals.ts";
import type { ResolvePrincipal } from "../lib/app/http/types.ts";
import { seedPrincipals } from "../lib/app/seed-principals.ts";
import type { PrincipalStore } from "../lib/ports/principals.ts";
import { fromApiGateway, toApiGateway } from "./apigw.ts";
import { logger, observedHandler, recordMetric } from "./observability.ts";
import { cloudApp } from "./runtime.ts";

let seeded: Promise<ResolvePrincipal> | undefined;

/**
 * Who may call: the vault's principals (the store `blockvault principal` changes), read on every
 * request. BLOCKVAULT_PRINCIPALS seeds a vault that has none, once per container; a broken
 * setting fails every request with a 500 naming it (the deployment is wrong, not the request),
 * and is never applied in part.
 */
async function resolvePrincipal(): Promise<ResolvePrincipal> {
  seeded ??= (async () => {
    const vault = await (await cloudApp()).vault();
    await seedPrincipals(vault, process.env.BLOCKVAULT_PRINCIPALS);
    return storedIamPrincipals(vault.ctx.deps.principals as PrincipalStore);
  })().catch((err: unknown) => {
    seeded = undefined;
    throw err;
  });
  return seeded;
}

let consoleFiles: Promise<ConsoleAssets | undefined> | undefined;

/**
 * The web console's files, which `serverless package` puts in `console/` beside this handler's
 * bundle (infra/esbuild-plugins.mjs); read once per container.
 */
function consoleAssets(): Promise<ConsoleAssets | undefined> {
  consoleFiles ??= loadConsoleAssets(fileURLToPath(new URL("./console/", import.meta.url)));
  return consoleFiles;
}

/**
 * The routes without IAM authorization (`GET /console`, `GET /console/{proxy+}`): they serve the
 * console's three files and nothing else, whatever the path says. Every call the console then
 * makes is a SigV4-signed request to an IAM-authorized route.
 */
async function consoleRoute(
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
): Promise<APIGatewayProxyStructuredResultV2> {
  const page = consoleResponse(await consoleAssets(), event.requestContext.http.method, event.rawPath);
  return toApiGateway(
    page ?? { status: 404, headers: { "content-type": "text/plain; charset=utf-8" }, body: "" },
  );
}

/**
 * API Gateway HTTP API (payload 2.0, IAM authorization) → the HTTP API's handlers: the caller
 * is the verified IAM identity, mapped to vault roles; routing, validation and error mapping
 * are lib/app/http's, shared with `blockvault serve`.
 */
export const handler = observedHandler(
  async (event: APIGatewayProxyEventV2WithIAMAuthorizer): Promise<APIGatewayProxyStructuredResultV2> => {
    // API Gateway's request id (its access logs' `$context.requestId`) on every line of this request.
    logger.setCorrelationId(event.requestContext.requestId);
    if (event.routeKey.startsWith("GET /console")) return consoleRoute(event);
    // A throw (the function's environment is broken) reaches the caller as API Gateway's 500.
    let status = 500;
    try {
      const response = await handleHttp(
        await cloudApp(),
        fromApiGateway(event),
        async (request) => (await resolvePrincipal())(request),
        {
          log: (err) => logger.error("request failed", { path: event.rawPath, error: err as Error }),
        },
      );
      status = response.status;
      logger.info("request", {
        method: event.requestContext.http.method,
        path: event.rawPath,
        status,
        caller: event.requestContext.authorizer?.iam?.userArn,
      });
      return toApiGateway(response);
    } finally {
      recordMetric("ApiRequests", 1);
      recordMetric("ApiServerErrors", status >= 500 ? 1 : 0);
    }
  },
);

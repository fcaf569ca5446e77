import type { AppContext } from "../app-context.ts";
import type { Handler } from "./call.ts";
import { errorResponse, responseForError } from "./errors.ts";
import { refuseNonJsonBody } from "./local-guard.ts";
import { Router } from "./router.ts";
import { API_ROUTES } from "./routes.ts";
import { SPEC, specOperations } from "./spec.ts";
import type { HttpRequest, HttpResponse, ResolvePrincipal } from "./types.ts";
import { compileValidators, type OperationValidator } from "./validate.ts";

/** The router with each route's validator, built once per process (compiling schemas is slow). */
interface Api {
  readonly router: Router<Handler>;
  readonly validators: Map<string, OperationValidator>;
}

let api: Api | undefined;

function build(): Api {
  const validators = compileValidators(SPEC);
  const operationIds = new Map(
    specOperations(SPEC).map((o) => [`${o.method} ${o.path}`, o.operation.operationId]),
  );
  for (const r of API_ROUTES) {
    const key = `${r.method} ${r.template}`;
    if (operationIds.get(key) !== r.operationId)
      throw new Error(`route ${key} (${r.operationId}) does not match the API spec`);
  }
  return { router: new Router(API_ROUTES), validators };
}

/** Options of {@link handleHttp}. */
export interface HandleOptions {
  /** Where unexpected failures are logged (default: console.error). */
  readonly log?: (err: unknown) => void;
}

/**
 * Answers one HTTP request of the API, in any runtime: finds the caller, routes, validates
 * against the OpenAPI spec, runs the operation on the vault as the caller, and maps errors to
 * statuses. Every check comes before any write, so a refused request changes nothing.
 */
export async function handleHttp(
  app: AppContext,
  request: HttpRequest,
  resolvePrincipal: ResolvePrincipal,
  options: HandleOptions = {},
): Promise<HttpResponse> {
  try {
    api ??= build();
    const refused =
      request.body === undefined
        ? undefined
        : refuseNonJsonBody({ ...request.headers, "content-length": String(request.body.length) });
    if (refused) return refused;
    const principal = await resolvePrincipal(request);
    const method = request.method.toUpperCase();
    const match = api.router.match(method, request.path);
    if (match.kind === "not-found") {
      return errorResponse(404, "NOT_FOUND", `no such resource: ${method} ${request.path}`);
    }
    if (match.kind === "method-not-allowed") {
      const response = errorResponse(
        405,
        "METHOD_NOT_ALLOWED",
        `${method} is not allowed on ${request.path}: use ${match.allowed.join(", ")}`,
      );
      return { ...response, headers: { ...response.headers, allow: match.allowed.join(", ") } };
    }
    const { route, params } = match;
    const validate = api.validators.get(`${route.method} ${route.template}`)!;
    const valid = validate(request, params);
    const vault = (await app.vault()).as(principal);
    return await route.handler({ app, vault, principal, request, ...valid });
  } catch (err) {
    return responseForError(err, options.log);
  }
}

import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { ValidationError } from "../../errors.ts";
import { ajvMessage } from "./ajv-messages.ts";
import { type OpenApiDocument, resolveParameter, SPEC, type SpecOperation, specOperations } from "./spec.ts";
import type { HttpRequest } from "./types.ts";

/** The parts of a request after validation: values coerced to the types the spec gives. */
export interface ValidRequest {
  readonly params: Readonly<Record<string, unknown>>;
  readonly query: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly body: unknown;
}

/** Validates the requests of one operation. */
export type OperationValidator = (request: HttpRequest, params: Record<string, string>) => ValidRequest;

const SPEC_ID = "openapi";

/** The top-level keys of an OpenAPI document: not JSON Schema keywords, but not typos either. */
const DOCUMENT_KEYS = ["openapi", "info", "servers", "paths", "components", "security", "tags", "webhooks"];

/** A schema's own words for what its `pattern` means, used in the message instead of the regex. */
const RULE_KEY = "x-rule";

/**
 * A copy of a schema taken out of the spec whose local `$ref`s (`#/components/…`) point into the
 * spec registered with ajv, so that it can be embedded in a schema built here.
 */
function anchored(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(anchored);
  if (typeof schema !== "object" || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] =
      key === "$ref" && typeof value === "string" && value.startsWith("#")
        ? SPEC_ID + value
        : anchored(value);
  }
  return out;
}

function newAjv(coerceTypes: boolean, spec: OpenApiDocument): Ajv2020 {
  // verbose: the messages read the offending value and, for a discriminator, its schema.
  // allErrors: the rules between fields (`allOf` conditions) must not hide the field itself.
  const ajv = new Ajv2020({ strict: true, discriminator: true, verbose: true, coerceTypes, allErrors: true });
  ajv.addVocabulary([...DOCUMENT_KEYS, RULE_KEY]);
  ajv.addSchema(spec as unknown as object, SPEC_ID);
  return ajv;
}

type Location = "path" | "query" | "header";

/** One object schema per location, from the operation's parameters. */
function parameterSchemas(operation: SpecOperation, spec: OpenApiDocument) {
  const schemas = {
    path: { properties: {} as Record<string, unknown>, required: [] as string[] },
    query: { properties: {} as Record<string, unknown>, required: [] as string[] },
    header: { properties: {} as Record<string, unknown>, required: [] as string[] },
  };
  for (const p of (operation.parameters ?? []).map((x) => resolveParameter(x, spec))) {
    if (p.in === "cookie") continue;
    // Header names are case-insensitive: the transports hand them over lower-case.
    const name = p.in === "header" ? p.name.toLowerCase() : p.name;
    schemas[p.in].properties[name] = anchored(p.schema ?? {});
    if (p.required || p.in === "path") schemas[p.in].required.push(name);
  }
  // Unknown path and query parameters are refused (a typo like `?disks=` must not list all);
  // requests carry many headers nobody declared.
  const object = (where: Location) => ({
    type: "object",
    ...schemas[where],
    additionalProperties: where === "header",
  });
  return { path: object("path"), query: object("query"), header: object("header") };
}

/** The original spelling of declared header names, for messages (`header.X-Approval-Id`). */
function headerSpelling(operation: SpecOperation, spec: OpenApiDocument): Map<string, string> {
  const names = (operation.parameters ?? [])
    .map((x) => resolveParameter(x, spec))
    .filter((p) => p.in === "header");
  return new Map(names.map((p) => [p.name.toLowerCase(), p.name]));
}

/**
 * The error a message is made of: one about a field itself before one from a rule between
 * fields (under `allOf`), and never the `if` that only says a condition's branch failed.
 */
function firstError(errors: readonly ErrorObject[]): ErrorObject {
  // An item failing a `contains` is no error of its own: the list failing it is.
  const real = errors.filter((e) => e.keyword !== "if" && !e.schemaPath.includes("/contains/"));
  return real.find((e) => !e.schemaPath.includes("/allOf/")) ?? real[0] ?? errors[0]!;
}

function check(validate: ValidateFunction, data: unknown, where: string, rename?: Map<string, string>): void {
  if (validate(data)) return;
  const error = firstError(validate.errors!);
  let message = ajvMessage(where, error);
  for (const [lower, spelled] of rename ?? [])
    message = message.replace(`header.${lower}`, `header.${spelled}`);
  throw new ValidationError(message);
}

function parseBody(text: string | undefined): unknown {
  if (text === undefined || text.trim() === "") throw new ValidationError("body is required (JSON)");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`body is not valid JSON: ${(err as Error).message}`);
  }
}

function compileOperation(operation: SpecOperation, params: Ajv2020, bodies: Ajv2020, spec: OpenApiDocument) {
  const schemas = parameterSchemas(operation, spec);
  const path = params.compile(schemas.path);
  const query = params.compile(schemas.query);
  const header = params.compile(schemas.header);
  const spelling = headerSpelling(operation, spec);
  const bodySchema = operation.requestBody?.content?.["application/json"]?.schema;
  const body = bodySchema ? bodies.compile(anchored(bodySchema) as object) : undefined;
  return (request: HttpRequest, pathParams: Record<string, string>): ValidRequest => {
    // Copies: coercion rewrites values in place.
    const valid = { params: { ...pathParams }, query: { ...request.query }, headers: { ...request.headers } };
    check(path, valid.params, "path");
    check(query, valid.query, "query");
    check(header, valid.headers, "header", spelling);
    if (!body) return { ...valid, body: undefined };
    const parsed = parseBody(request.body);
    check(body, parsed, "body");
    return { ...valid, body: parsed };
  };
}

/**
 * Compiles a validator for every operation of the spec, keyed `METHOD /template`. Parameters are
 * coerced from their text (`?limit=10` becomes 10); bodies are not (`"5"` is not a number).
 */
export function compileValidators(spec: OpenApiDocument = SPEC): Map<string, OperationValidator> {
  const params = newAjv(true, spec);
  const bodies = newAjv(false, spec);
  const out = new Map<string, OperationValidator>();
  for (const { method, path, operation } of specOperations(spec)) {
    out.set(`${method} ${path}`, compileOperation(operation, params, bodies, spec));
  }
  return out;
}

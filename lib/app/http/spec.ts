import document from "../../../api/openapi.json" with { type: "json" };

/** The parts of an OpenAPI parameter the validator reads. */
export interface SpecParameter {
  readonly name: string;
  readonly in: "path" | "query" | "header" | "cookie";
  readonly required?: boolean;
  readonly schema?: Record<string, unknown>;
  readonly $ref?: string;
}

/** The parts of an OpenAPI operation the router and the validator read. */
export interface SpecOperation {
  readonly operationId?: string;
  readonly parameters?: readonly SpecParameter[];
  readonly requestBody?: {
    readonly required?: boolean;
    readonly content?: Record<string, { readonly schema?: Record<string, unknown> }>;
  };
  readonly responses?: Record<string, unknown>;
}

/** The API's OpenAPI document (api/openapi.json), as far as this code reads it. */
export interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, SpecOperation>>;
  readonly components: { readonly parameters?: Record<string, SpecParameter> } & Record<string, unknown>;
}

/** The spec, bundled with the code (a JSON import), so a Lambda package needs no extra file. */
export const SPEC = document as unknown as OpenApiDocument;

/** HTTP methods an OpenAPI path item may hold (the other keys are not operations). */
export const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"] as const;

/** One operation of the spec with where it lives. */
export interface LocatedOperation {
  readonly method: string;
  readonly path: string;
  readonly operation: SpecOperation;
}

/** Every operation in the spec; `method` is upper-case. */
export function specOperations(spec: OpenApiDocument = SPEC): LocatedOperation[] {
  const out: LocatedOperation[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) out.push({ method: method.toUpperCase(), path, operation });
    }
  }
  return out;
}

/** A parameter with a `$ref` to `#/components/parameters/…` replaced by its definition. */
export function resolveParameter(parameter: SpecParameter, spec: OpenApiDocument = SPEC): SpecParameter {
  if (!parameter.$ref) return parameter;
  const name = parameter.$ref.replace("#/components/parameters/", "");
  const found = spec.components.parameters?.[name];
  if (!found) throw new Error(`the API spec has no parameter ${parameter.$ref}`);
  return found;
}

import type { ErrorObject } from "ajv/dist/2020.js";

/** How a value reads in a message. */
function shown(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return JSON.stringify(value);
}

const ARTICLE: Record<string, string> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  object: "an object",
  array: "a list",
  null: "null",
};

/** The field an error is about: `body.target.kind`, `query.limit`, `body.items[2]`. */
export function fieldName(where: string, instancePath: string, child?: string): string {
  const parts = instancePath.split("/").slice(1);
  if (child !== undefined) parts.push(child);
  let out = where;
  for (const raw of parts) {
    const part = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    out += /^\d+$/.test(part) ? `[${part}]` : `.${part}`;
  }
  return out;
}

/** The values a discriminated `oneOf` accepts for its tag, read from the schema. */
function tagValues(parentSchema: unknown, tag: string): string {
  const variants = (parentSchema as { oneOf?: { properties?: Record<string, { const?: unknown }> }[] })
    ?.oneOf;
  const values = (variants ?? []).map((v) => v.properties?.[tag]?.const).filter((v) => v !== undefined);
  return values.map((v) => JSON.stringify(v)).join(", ");
}

/**
 * Turns one ajv error (compiled with `verbose`) into a sentence naming the field, the way the
 * CLI's messages do: `body.target.kind must be one of "file", "s3", "ebs-snapshot", got "nfs"`.
 * `where` names the part of the request (`body`, `query`, `path`, `header`).
 */
export function ajvMessage(where: string, error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const field = (child?: string) => fieldName(where, error.instancePath, child);
  const got = `, got ${shown(error.data)}`;
  switch (error.keyword) {
    case "required":
      return `${field(String(params.missingProperty))} is required`;
    case "additionalProperties":
      return `${field(String(params.additionalProperty))} is not allowed`;
    case "discriminator": {
      const tag = String(params.tag);
      if (params.tagValue === undefined) return `${field(tag)} is required`;
      if (params.error === "tag") return `${field(tag)} must be a string, got ${shown(params.tagValue)}`;
      return `${field(tag)} must be one of ${tagValues(error.parentSchema, tag)}, got ${shown(params.tagValue)}`;
    }
    case "enum":
      return `${field()} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}${got}`;
    case "const":
      return `${field()} must be ${JSON.stringify(params.allowedValue)}${got}`;
    case "type": {
      const types = String(params.type).split(",");
      return `${field()} must be ${types.map((t) => ARTICLE[t] ?? t).join(" or ")}${got}`;
    }
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return `${field()} must be ${String(params.comparison)} ${String(params.limit)}${got}`;
    case "minLength":
      return params.limit === 1
        ? `${field()} must not be empty`
        : `${field()} must be at least ${String(params.limit)} characters long`;
    case "maxLength":
      return `${field()} must be at most ${String(params.limit)} characters long`;
    case "false schema":
      return `${field()} is not allowed here`;
    case "contains": {
      const wanted = (error.parentSchema as { contains?: { const?: unknown } } | undefined)?.contains?.const;
      return wanted === undefined
        ? `${field()} ${error.message ?? "is invalid"}`
        : `${field()} must include ${JSON.stringify(wanted)}`;
    }
    case "uniqueItems":
      return `${field()} must not repeat an item`;
    case "minItems":
    case "maxItems":
      return `${field()} must have ${params.limit === 1 && error.keyword === "minItems" ? "at least one item" : `${error.keyword === "minItems" ? "at least" : "at most"} ${String(params.limit)} items`}`;
    case "pattern": {
      const rule = (error.parentSchema as Record<string, unknown> | undefined)?.["x-rule"];
      if (typeof rule === "string") return `${field()} must be ${rule}${got}`;
      return `${field()} must match ${String(params.pattern)}${got}`;
    }
    default:
      return `${field()} ${error.message ?? "is invalid"}`;
  }
}

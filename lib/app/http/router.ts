import { ValidationError } from "../../errors.ts";

/** One route: a method and a path template such as `/recovery-points/{id}/undelete`. */
export interface Route<H> {
  readonly method: string;
  readonly template: string;
  readonly operationId: string;
  readonly handler: H;
}

/** What matching a request found. */
export type Match<H> =
  | { readonly kind: "found"; readonly route: Route<H>; readonly params: Record<string, string> }
  /** The path exists, but not with this method. */
  | { readonly kind: "method-not-allowed"; readonly allowed: readonly string[] }
  | { readonly kind: "not-found" };

/** The parts of a path, without empty ones (so a trailing slash matches the same route). */
function segments(path: string): string[] {
  return path.split("/").filter((s) => s !== "");
}

/** Matches a template's segments against a path's; `{name}` captures one decoded segment. */
function capture(template: readonly string[], path: readonly string[]): Record<string, string> | undefined {
  if (template.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i]!;
    const p = path[i]!;
    if (t.startsWith("{") && t.endsWith("}")) {
      try {
        params[t.slice(1, -1)] = decodeURIComponent(p);
      } catch {
        throw new ValidationError(`path segment "${p}" is not valid percent-encoding`);
      }
    } else if (t !== p) {
      return undefined;
    }
  }
  return params;
}

/**
 * A small router: method + path template → handler. Few routes, so a linear scan is the
 * simplest thing that is obviously right; a literal segment and a parameter never compete
 * at the same position in this API, so order does not matter.
 */
export class Router<H> {
  private readonly table: { route: Route<H>; parts: string[] }[] = [];

  constructor(routes: readonly Route<H>[]) {
    for (const route of routes) {
      const duplicate = this.table.some(
        (r) => r.route.method === route.method && r.route.template === route.template,
      );
      if (duplicate) throw new Error(`route ${route.method} ${route.template} is defined twice`);
      this.table.push({ route, parts: segments(route.template) });
    }
  }

  /** Every route, in the order given. */
  get routes(): readonly Route<H>[] {
    return this.table.map((r) => r.route);
  }

  match(method: string, path: string): Match<H> {
    const parts = segments(path);
    const allowed: string[] = [];
    for (const { route, parts: template } of this.table) {
      const params = capture(template, parts);
      if (!params) continue;
      if (route.method === method.toUpperCase()) return { kind: "found", route, params };
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { kind: "method-not-allowed", allowed } : { kind: "not-found" };
  }
}

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/** The repository's root. */
export const ROOT = path.resolve(import.meta.dirname, "../../..");

/** One import of one file: what it names, and the repository path it resolves to when relative. */
export interface ImportEdge {
  /** The importing file, relative to the repository root (`lib/engine/backup/backup.ts`). */
  readonly from: string;
  /** The specifier as written (`../../ports/clock.ts`, `node:fs`, `@aws-sdk/client-s3`). */
  readonly specifier: string;
  /** For a relative specifier, the imported file relative to the root; undefined for packages. */
  readonly to: string | undefined;
}

/** The `.ts` files under `dir` (relative to the root), recursively. */
export function typeScriptFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(relative);
    return entry.name.endsWith(".ts") ? [relative] : [];
  });
}

/**
 * The source without comments, so a specifier quoted in a doc comment is not taken for an
 * import. A `//` after `:` is kept (a URL inside a string).
 */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

const SPECIFIERS = [
  // import … from "x", export … from "x", including `import type` and multi-line lists
  /\b(?:import|export)\s+(?:type\s+)?[^;"'`]*?\bfrom\s*["']([^"']+)["']/g,
  // import "x" (side effects only)
  /^\s*import\s*["']([^"']+)["']/gm,
  // import("x"), the lazy loads
  /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
];

/** Every import of `file` (relative to the root). */
export function importsOf(file: string): ImportEdge[] {
  const source = withoutComments(readFileSync(path.join(ROOT, file), "utf8"));
  const specifiers = new Set(SPECIFIERS.flatMap((re) => [...source.matchAll(re)].map((m) => m[1] as string)));
  return [...specifiers].map((specifier) => ({
    from: file,
    specifier,
    to: specifier.startsWith(".") ? path.posix.join(path.posix.dirname(file), specifier) : undefined,
  }));
}

/** Whether `file` (relative to the root) is `area` itself or lies under the folder `area`. */
export function isIn(file: string, area: string): boolean {
  return area.endsWith(".ts") ? file === area : file.startsWith(`${area}/`);
}

/** The imports of the files under `dirs` that break `rule`, as `from → specifier` lines. */
export function violations(
  dirs: readonly string[],
  rule: (edge: ImportEdge) => boolean,
  only: (file: string) => boolean = () => true,
): string[] {
  return dirs
    .flatMap(typeScriptFiles)
    .filter(only)
    .flatMap(importsOf)
    .filter((edge) => !rule(edge))
    .map((edge) => `${edge.from} → ${edge.specifier}`);
}

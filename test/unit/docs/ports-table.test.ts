import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const PORTS_DIR = path.join(ROOT, "lib/ports");

/** The `.ts` files under lib/ports, relative to it. */
function portFiles(dir = PORTS_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return portFiles(full);
    return entry.name.endsWith(".ts") ? [path.relative(PORTS_DIR, full)] : [];
  });
}

/** The interfaces a file exports. */
function exportedInterfaces(file: string): string[] {
  const source = readFileSync(path.join(PORTS_DIR, file), "utf8");
  return [...source.matchAll(/^export interface (\w+)/gm)].map((m) => m[1] as string);
}

/** The names in the first column of the table under design.md's "## Ports" heading. */
function tabledPorts(): string[] {
  const design = readFileSync(path.join(ROOT, "docs/design.md"), "utf8");
  const section = design.split(/^## Ports$/m)[1]?.split(/^## /m)[0] ?? "";
  return [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1] as string);
}

describe("docs/design.md's ports table", () => {
  const tabled = tabledPorts();
  const files = portFiles();

  it("has rows", () => {
    expect(tabled.length).toBeGreaterThan(5);
  });

  it.each(files)("lists a port of lib/ports/%s", (file) => {
    const exported = exportedInterfaces(file);
    expect(
      exported.filter((name) => tabled.includes(name)),
      `interfaces: ${exported.join(", ")}`,
    ).not.toEqual([]);
  });

  it("names only interfaces lib/ports exports", () => {
    const exported = new Set(files.flatMap(exportedInterfaces));
    expect(tabled.filter((name) => !exported.has(name))).toEqual([]);
  });
});

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../../..");

/** The text of the README's "Project layout" section. */
function layoutSection(): string {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  return readme.split(/^## Project layout$/m)[1]?.split(/^## /m)[0] ?? "";
}

/** The folders directly inside `dir`. */
function folders(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
}

describe("README's project layout", () => {
  const layout = layoutSection();

  it("is there", () => {
    expect(layout.length).toBeGreaterThan(200);
  });

  it.each(["lib", "lib/adapters"].flatMap((dir) => folders(dir).map((f) => `${dir}/${f}`)))(
    "names %s",
    (folder) => {
      const name = path.basename(folder);
      expect(layout.includes(`${name}/`) || layout.includes(`${folder}/`), folder).toBe(true);
    },
  );

  it.each(folders("lib/engine"))("lists the engine's %s folder", (name) => {
    const engine = layout.slice(layout.indexOf("engine/"));
    expect(engine.slice(0, engine.indexOf(")")), name).toContain(name);
  });
});

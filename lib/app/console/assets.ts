import { spawn } from "node:child_process";
import { access, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** One file of the console's bundle. */
export interface ConsoleAsset {
  readonly type: string;
  /** Text: every file of the bundle is UTF-8. */
  readonly body: string;
}

/** The console's bundle by name (`index.html`, `app.js`, `app.css`), held in memory. */
export type ConsoleAssets = ReadonlyMap<string, ConsoleAsset>;

/** The files the console is made of, and their media types. */
const FILES = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
} as const;

/** Where `npm run build:console` writes the bundle, and the script that does it. */
export const CONSOLE_DIST = fileURLToPath(new URL("../../../console/dist/", import.meta.url));
const BUILD_SCRIPT = fileURLToPath(new URL("../../../console/build.ts", import.meta.url));

/** Reads the bundle from `dir`; undefined when it was never built (a file is missing). */
export async function loadConsoleAssets(dir = CONSOLE_DIST): Promise<ConsoleAssets | undefined> {
  const assets = new Map<string, ConsoleAsset>();
  for (const [name, type] of Object.entries(FILES)) {
    const body = await readFile(`${dir}/${name}`, "utf8").catch(() => undefined);
    if (body === undefined) return undefined;
    assets.set(name, { type, body });
  }
  return assets;
}

/**
 * The bundle, built first when it is missing and the build script and its tools are here (a
 * checkout after `npm ci --ignore-scripts`, say): the build runs in a child process, so nothing
 * that bundles the product ever pulls in the bundler. Undefined, with `log` told why, when it
 * cannot be built: the server then answers /console/ with how to build it.
 */
export async function ensureConsoleAssets(log: (line: string) => void): Promise<ConsoleAssets | undefined> {
  const built = await loadConsoleAssets();
  if (built) return built;
  const script = await access(BUILD_SCRIPT).then(
    () => true,
    () => false,
  );
  if (!script) return undefined;
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [BUILD_SCRIPT], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", () => resolve(-1));
    child.on("close", (c) => {
      if (c !== 0)
        log(`the web console could not be built (npm run build:console): ${stderr.trim().split("\n")[0]}`);
      resolve(c);
    });
  });
  return code === 0 ? loadConsoleAssets() : undefined;
}

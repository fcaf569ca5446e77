/**
 * Builds the web console (console/src, Preact) into console/dist with esbuild: `app.js`,
 * `app.css` and `index.html`, which `blockvault serve` serves at /console/. Run by
 * `npm run build:console`, by `prepare` (so `npm ci` leaves a built console) and before the
 * tests; `serve` runs it when the bundle is missing, and `serverless package` puts one beside the
 * API function's handler (infra/esbuild-plugins.mjs). The bundle is written to a temporary folder
 * and moved into place whole, so a server or a test never reads a half-written one.
 */
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Where the console's sources and bundle are. */
export const CONSOLE_DIR = dirname(fileURLToPath(import.meta.url));

/** Builds the bundle into `outDir` (console/dist by default), replacing what was there. */
export async function buildConsole(outDir = join(CONSOLE_DIR, "dist")): Promise<string> {
  const temp = `${outDir}.${randomBytes(4).toString("hex")}.tmp`;
  // Loaded here, not at the top: `prepare` may run where the bundler is not installed.
  const { build } = await import("esbuild");
  await mkdir(temp, { recursive: true });
  try {
    await build({
      entryPoints: { app: join(CONSOLE_DIR, "src", "main.tsx") },
      outdir: temp,
      bundle: true,
      format: "esm",
      target: "es2022",
      minify: true,
      jsx: "automatic",
      jsxImportSource: "preact",
      legalComments: "none",
      logLevel: "warning",
    });
    await copyFile(join(CONSOLE_DIR, "index.html"), join(temp, "index.html"));
    const old = `${outDir}.${randomBytes(4).toString("hex")}.old`;
    await rename(outDir, old).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
    await rename(temp, outDir);
    await rm(old, { recursive: true, force: true });
    return outDir;
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

/** Whether esbuild can be loaded (`npm ci --omit=dev` leaves it out). */
async function bundlerInstalled(): Promise<boolean> {
  return import("esbuild").then(
    () => true,
    () => false,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // `--if-possible` (the prepare script): an install without the dev dependencies has no bundler,
  // and that install must not fail for want of a console it did not ask for.
  if (process.argv.includes("--if-possible") && !(await bundlerInstalled())) {
    console.error("esbuild is not installed: the web console is not built (npm run build:console builds it)");
  } else {
    const out = await buildConsole();
    console.log(`console built into ${out}`);
  }
}

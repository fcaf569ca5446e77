// esbuild plugins for `serverless package` (serverless-esbuild's `plugins` option).
import { join } from "node:path";
import * as esbuild from "esbuild";

/**
 * The backup and restore engine hashes, compresses and encrypts in worker threads, started from
 * a file of their own. A handler's bundle holds no such file, so after each handler is built this
 * bundles lib/engine/workers/block-worker.ts beside it as block-worker.mjs, where the engine looks for it
 * when it runs from an .mjs bundle.
 */
const blockWorker = {
  name: "blockvault-block-worker",
  setup(build) {
    build.onEnd(async (result) => {
      if (result.errors.length > 0) return;
      const { outdir, banner } = build.initialOptions;
      // serverless-esbuild builds each handler with `outdir` set to the handler's own directory
      // in the bundle (functions/), so the worker goes right there.
      await esbuild.build({
        entryPoints: ["lib/engine/workers/block-worker.ts"],
        outfile: join(outdir, "block-worker.mjs"),
        bundle: true,
        format: "esm",
        platform: "node",
        target: "node24",
        sourcemap: true,
        ...(banner ? { banner } : {}),
      });
    });
  },
};

/**
 * The API function also serves the web console's files (GET /console/…, the only routes without
 * IAM authorization): after its handler is built, the console is built into `console/` beside it,
 * where functions/api.ts reads it. Built afresh, so a package never carries a stale console.
 */
const consoleBundle = {
  name: "blockvault-console",
  setup(build) {
    build.onEnd(async (result) => {
      if (result.errors.length > 0) return;
      const entries = JSON.stringify(build.initialOptions.entryPoints ?? []);
      if (!entries.includes("functions/api")) return;
      const { buildConsole } = await import("../console/build.ts");
      await buildConsole(join(build.initialOptions.outdir, "console"));
    });
  },
};

export default [blockWorker, consoleBundle];

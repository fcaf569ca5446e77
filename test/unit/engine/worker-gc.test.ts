import { runInNewContext } from "node:vm";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { exposeGc } from "../../../lib/engine/workers/worker-gc.ts";

/** What a fresh context sees as `gc` when nothing switched the flag: as this process started. */
const startedWithGc = typeof (globalThis as { gc?: unknown }).gc;

describe("exposeGc", () => {
  it("returns a working gc and leaves V8's flag as the process started with it", () => {
    const lock = new Int32Array(new SharedArrayBuffer(4));
    const collect = exposeGc(lock);
    expect(typeof collect).toBe("function");
    expect(() => collect({ type: "minor" })).not.toThrow();
    // A context created now sees what it would have before: the flag was taken back.
    expect(runInNewContext("typeof gc")).toBe(startedWithGc);
    expect(lock[0]).toBe(0);
  });

  it("gives every thread gc when several take it at once, and leaves the flag as it was", async () => {
    const shared = new SharedArrayBuffer(4);
    const module = new URL("../../../lib/engine/workers/worker-gc.ts", import.meta.url).href;
    // Without the shared lock, one thread taking the flag back while another creates its context
    // leaves the other without gc (runInNewContext throws "gc is not defined").
    const code = `
      const { workerData, parentPort } = require("node:worker_threads");
      import(workerData.module).then(({ exposeGc }) => {
        const lock = new Int32Array(workerData.shared);
        let working = 0;
        for (let i = 0; i < 150; i++) if (typeof exposeGc(lock) === "function") working++;
        parentPort.postMessage(working);
      });
    `;
    const run = () =>
      new Promise<number>((resolve, reject) => {
        const worker = new Worker(code, { eval: true, workerData: { shared, module } });
        worker.once("message", (n: number) => {
          void worker.terminate();
          resolve(n);
        });
        worker.once("error", reject);
      });
    expect(await Promise.all([run(), run(), run(), run()])).toEqual([150, 150, 150, 150]);
    expect(runInNewContext("typeof gc")).toBe(startedWithGc);
  });
});

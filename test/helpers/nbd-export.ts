import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/blockvault.mjs", import.meta.url));

/** A running `blockvault export --nbd` child process. */
export interface RunningExport {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** What it wrote on stderr so far. */
  stderr(): string;
  /** Stops it (SIGTERM to the process this helper started) and waits for it to exit. */
  stop(): Promise<number | null>;
}

/** Starts `blockvault export POINT --nbd 127.0.0.1:0 --json` and waits for its URL. */
export async function startExport(
  vault: string,
  pointId: string,
  extra: readonly string[] = [],
): Promise<RunningExport> {
  const child = spawn(
    process.execPath,
    [BIN, "export", pointId, "--nbd", "127.0.0.1:0", "--vault", vault, "--json", ...extra],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString("utf8");
  });
  const started = new Promise<{ url: string }>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString("utf8");
      // --json prints one document, maybe over several lines: parse once it is whole.
      try {
        resolve(JSON.parse(out) as { url: string });
      } catch {}
    });
    child.once("exit", (code) => reject(new Error(`export exited with ${code} before serving: ${err}`)));
  });
  const { url } = await started;
  return {
    url,
    port: Number(new URL(url).port),
    child,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = await once(child, "exit");
      return code as number | null;
    },
  };
}

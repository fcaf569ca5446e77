import { type ChildProcess, spawn } from "node:child_process";

/** One write-and-fsync of the writer: when it started and ended (epoch ms). */
export interface WriterOp {
  readonly start: number;
  readonly end: number;
}

/** A process writing 4 KiB and fsync-ing it into each of `files` in turn, as fast as it can. */
export interface FsyncWriter {
  readonly ops: WriterOp[];
  stop(): Promise<void>;
}

const SCRIPT = `
const fs = require("node:fs");
const fds = process.argv.slice(1).map((f) => fs.openSync(f, "a"));
const block = Buffer.alloc(4096, 7);
let i = 0;
for (;;) {
  const start = Date.now();
  const fd = fds[i++ % fds.length];
  fs.writeSync(fd, block);
  fs.fsyncSync(fd);
  process.stdout.write(start + " " + Date.now() + "\\n");
  if (i % 64 === 0) for (const f of fds) fs.ftruncateSync(f, 0);
}
`;

/**
 * Starts the writer in a process of its own (a write into a frozen file system blocks the whole
 * thread that makes it, which must not be the test's). Its ops are collected as it reports them.
 */
export function startFsyncWriter(files: readonly string[], cleanup: (() => void)[]): FsyncWriter {
  const child: ChildProcess = spawn(process.execPath, ["-e", SCRIPT, ...files], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  cleanup.push(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  const ops: WriterOp[] = [];
  let rest = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    const lines = (rest + d).split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) {
      const [start, end] = l.split(" ").map(Number);
      if (start !== undefined && end !== undefined) ops.push({ start, end });
    }
  });
  return {
    ops,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on("close", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}

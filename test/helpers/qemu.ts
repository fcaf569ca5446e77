import { spawnSync } from "node:child_process";

/** Runs a qemu tool; throws with its output when it fails, saying what to install when it is missing. */
function run(tool: "qemu-img" | "qemu-io", args: readonly string[]): string {
  const result = spawnSync(tool, args, { encoding: "utf8", timeout: 120_000 });
  if (result.error && (result.error as NodeJS.ErrnoException).code === "ENOENT") {
    throw new Error(`${tool} is not installed: this test needs it (apt-get install qemu-utils)`);
  }
  if (result.status !== 0) {
    throw new Error(`${tool} ${args.join(" ")} failed (${result.status}): ${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

/** `qemu-img ARGS…`; its standard output. */
export function qemuImg(...args: string[]): string {
  return run("qemu-img", args);
}

/** One `write -P PATTERN OFFSET LENGTH` (or `write -z` for `pattern: "zero"`) per entry, through qemu-io. */
export interface QemuWrite {
  readonly offset: number;
  readonly length: number;
  readonly pattern: number | "zero";
}

/** Writes into an image through qemu-io, which knows every format qemu does. */
export function qemuWrite(image: string, format: string, writes: readonly QemuWrite[]): void {
  const commands = writes.flatMap((w) => [
    "-c",
    w.pattern === "zero"
      ? `write -z ${w.offset} ${w.length}`
      : `write -P ${w.pattern} ${w.offset} ${w.length}`,
  ]);
  run("qemu-io", ["-f", format, ...commands, image]);
}

/** Whether qemu-img compare finds the two images' guest contents identical; its message otherwise. */
export function qemuCompare(a: string, aFormat: string, b: string, bFormat: string): string {
  const result = spawnSync("qemu-img", ["compare", "-f", aFormat, "-F", bFormat, a, b], { encoding: "utf8" });
  if (result.error)
    throw new Error(`qemu-img is not installed: this test needs it (apt-get install qemu-utils)`);
  return result.status === 0 ? "identical" : `${result.stdout}${result.stderr}`.trim();
}

/** `qemu-img info --output=json` of an image. */
export function qemuInfo(image: string, format?: string): { format: string; "virtual-size": number } {
  return JSON.parse(qemuImg("info", "--output=json", ...(format ? ["-f", format] : []), image));
}

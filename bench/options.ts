import { resolve } from "node:path";
import { parseArgs } from "node:util";

/** Which tools to run. */
export type ToolChoice = "both" | "blockvault" | "restic";

/** The benchmark's settings, from its command line. */
export interface BenchOptions {
  readonly sizeMiB: number;
  readonly seed: number;
  readonly mutatePercent: number;
  readonly mutateSeed: number;
  readonly tools: ToolChoice;
  readonly workDir: string;
  /** Rounds; each step's reported time is the median over them (the machine may be shared). */
  readonly runs: number;
}

export const USAGE = `Usage: npm run bench -- [options]

  --size-mib N           image size in MiB (default 2048)
  --memory-8g            same as --size-mib 8192: the 8 GiB peak-RSS check (slow)
  --no-restic            skip restic even if it is installed
  --only blockvault|restic
                         run one tool only
  --work DIR             work directory (default bench/.work); images are kept there for reuse
  --runs N               rounds of both tools, interleaved; times are medians (default 5)
  -h, --help             show this help`;

const DEFAULT_SIZE_MIB = 2048;
const MEMORY_CHECK_SIZE_MIB = 8192;

/** Parses `argv`; returns undefined when only help was asked for. Throws on bad input. */
export function parseOptions(argv: readonly string[], repoRoot: string): BenchOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      "size-mib": { type: "string" },
      "memory-8g": { type: "boolean" },
      "no-restic": { type: "boolean" },
      only: { type: "string" },
      work: { type: "string" },
      runs: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return undefined;
  if (values["memory-8g"] && values["size-mib"] !== undefined) {
    throw new Error("--memory-8g and --size-mib are exclusive");
  }
  const sizeMiB = values["memory-8g"]
    ? MEMORY_CHECK_SIZE_MIB
    : positiveInt(values["size-mib"], DEFAULT_SIZE_MIB, "--size-mib");
  const only = values.only;
  if (only !== undefined && only !== "blockvault" && only !== "restic") {
    throw new Error(`--only must be blockvault or restic, got "${only}"`);
  }
  if (only === "restic" && values["no-restic"]) throw new Error("--only restic contradicts --no-restic");
  const tools: ToolChoice = only ?? (values["no-restic"] ? "blockvault" : "both");
  return {
    sizeMiB,
    seed: 7,
    mutatePercent: 1,
    mutateSeed: 11,
    tools,
    runs: positiveInt(values.runs, 5, "--runs"),
    // npm runs scripts from the package root; INIT_CWD is where the user typed the command.
    workDir: values.work
      ? resolve(process.env.INIT_CWD ?? process.cwd(), values.work)
      : resolve(repoRoot, "bench/.work"),
  };
}

function positiveInt(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new Error(`${flag} must be a positive integer, got "${value}"`);
  }
  return Number(value);
}

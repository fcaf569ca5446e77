/** Shared shapes of the benchmark's results (they are also what results.json holds). */

/** What one subprocess did, measured from the outside. */
export interface Measured {
  /** Wall time from spawn to exit, including the process's own startup. */
  readonly wallMs: number;
  /** Peak resident set size of the process (all its threads), when it could be measured. */
  readonly peakRssBytes: number | undefined;
  /**
   * CPU time (user + system) of the process and the children it waited for, when GNU time
   * measured it: less sensitive than wall time to a shared machine's slow phases, and it shows
   * how much work a tool does apart from how well it spreads it over the cores.
   */
  readonly cpuMs: number | undefined;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One timed step (full backup, incremental backup or restore) of one tool. */
export interface StepResult {
  readonly seconds: number;
  /** CPU seconds (user + system), when measured. */
  readonly cpuSeconds: number | undefined;
  readonly peakRssBytes: number | undefined;
  /** The tool's own summary of the step (its JSON output), kept for results.json. */
  readonly reported: unknown;
}

/** Everything measured for one tool. */
export interface ToolResult {
  readonly tool: "blockvault" | "restic";
  readonly version: string;
  readonly full: StepResult;
  readonly incremental: StepResult;
  readonly restore: StepResult;
  /** blockvault only: a full backup of the same disk as a qcow2 image, when qemu-img made one. */
  readonly qcow2Full?: StepResult;
  /** Apparent size of the vault or repository directory after each backup. */
  readonly storeBytesAfterFull: number;
  readonly storeBytesAfterIncremental: number;
  /** Whether the restored file's SHA-256 equals the mutated image's. */
  readonly restoreIdentical: boolean;
  readonly restoredSha256: string;
}

/** The two images every tool backs up, and what is known about them. */
export interface BenchImages {
  readonly pristine: string;
  readonly mutated: string;
  readonly sizeBytes: number;
  /** Which generator made them: the shared script, or the in-repo fallback. */
  readonly generator: "make-image.py" | "lib/sample-image.ts";
  /** Why the fallback was used, when it was. */
  readonly fallbackReason: string | undefined;
  /** 4 KiB pages that differ between the two images: the true amount of change. */
  readonly changedPages: number;
  readonly mutatedSha256: string;
  /** Whether the images came from an earlier run rather than being generated now. */
  readonly reused: boolean;
}

/** What a tool's benchmark needs to run. */
export interface ToolContext {
  readonly repoRoot: string;
  /** A fresh directory for this tool's vault or repository and restore target. */
  readonly runDir: string;
  readonly images: BenchImages;
  /** The pristine image as qcow2, for blockvault's qcow2-source step; absent without qemu-img. */
  readonly qcow2Image?: string;
  readonly log: (line: string) => void;
}

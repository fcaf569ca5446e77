import { OptionKind, type OptionSpec } from "../spec.ts";

/** How a long operation reports its progress on stderr. */
export const ProgressMode = { Auto: "auto", Bar: "bar", Json: "json", None: "none" } as const;
export type ProgressMode = (typeof ProgressMode)[keyof typeof ProgressMode];

/** `--progress MODE`, taken by backup and restore. */
export const PROGRESS_OPTION: OptionSpec = {
  kind: OptionKind.Choice,
  arg: "MODE",
  choices: Object.values(ProgressMode),
  default: "json with --json, else auto",
  help: "progress on stderr: auto (a bar with ETA on a terminal), bar, json (one status object per line), none",
};

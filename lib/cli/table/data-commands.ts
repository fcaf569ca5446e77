import { JobStatus } from "../../model.ts";
import type { CommandSpec } from "../spec.ts";
import { OptionKind } from "../spec.ts";
import { PROGRESS_OPTION } from "./progress-option.ts";

const IMAGE_KINDS = [
  "IMAGE is one of:",
  "  PATH               a raw image file, a fixed VHD (detected by its footer) or a block device",
  "  s3://BUCKET/KEY    an image object in S3 (ranged reads; the AWS credentials in use)",
  "  ebs://snap-ID      an EBS snapshot, read through the EBS direct APIs (only allocated blocks)",
];

const PROGRESS_STREAM = [
  "With --progress json (the default with --json) stderr carries one JSON object per line:",
  '  {"type":"status","operation":…,"bytesDone":…,"bytesTotal":…,"percent":…,"secondsElapsed":…,"secondsRemaining":…}',
  '  and last {"type":"summary",…} with the totals; --json\'s result is on stdout.',
];

/** The commands that back up, list and restore. */
export const DATA_COMMANDS: Readonly<Record<string, CommandSpec>> = {
  init: {
    summary: "create a vault and its keyring",
    usage: ["init [--name NAME] [--block-size BYTES]"],
    details: [
      "Creates the vault and its keyring (mode 0600). Back up the keyring separately: without it nobody can read the vault.",
    ],
    options: {
      name: {
        kind: OptionKind.String,
        arg: "NAME",
        default: "the vault directory's name",
        help: "the vault's name",
      },
      "block-size": {
        kind: OptionKind.Integer,
        arg: "BYTES",
        default: "131072 (128 KiB)",
        help: "block size, a power of two from 4096 to 4194304; fixed for the vault's life",
      },
    },
    run: async (ctx) => (await import("../commands/init.ts")).initCommand(ctx),
  },
  backup: {
    summary: "back up a disk image as a new recovery point",
    usage: ["backup IMAGE --disk NAME [--progress MODE]"],
    details: [
      "Incremental against the disk's latest recovery point; a disk whose size changed is refused.",
      ...IMAGE_KINDS,
      ...PROGRESS_STREAM,
    ],
    options: {
      disk: {
        kind: OptionKind.String,
        arg: "NAME",
        required: true,
        help: "the disk the recovery point belongs to",
      },
      progress: PROGRESS_OPTION,
    },
    run: async (ctx) => (await import("../commands/backup.ts")).backupCommand(ctx),
  },
  list: {
    summary: "list recovery points, newest first",
    usage: ["list [--disk NAME]"],
    options: {
      disk: { kind: OptionKind.String, arg: "NAME", default: "every disk", help: "only this disk's points" },
    },
    run: async (ctx) => (await import("../commands/list.ts")).listCommand(ctx),
  },
  restore: {
    summary: "restore a recovery point (or a byte range of it) to a new file",
    usage: [
      "restore RECOVERY_POINT_ID --to PATH [--force] [--offset BYTES --length BYTES] [--progress MODE]",
    ],
    details: [
      "Holes stay sparse. The disk's source, the vault's directory and its keyring are never overwritten.",
      ...PROGRESS_STREAM,
    ],
    options: {
      to: { kind: OptionKind.Path, arg: "PATH", required: true, help: "the file to restore into" },
      force: { kind: OptionKind.Flag, default: "off", help: "replace PATH if it exists" },
      offset: {
        kind: OptionKind.Integer,
        arg: "BYTES",
        help: "restore from this byte of the disk (with --length)",
      },
      length: { kind: OptionKind.Integer, arg: "BYTES", help: "restore this many bytes (with --offset)" },
      progress: PROGRESS_OPTION,
    },
    run: async (ctx) => (await import("../commands/restore.ts")).restoreCommand(ctx),
  },
  jobs: {
    summary: "list backup and restore jobs with status, duration, bytes and errors",
    usage: ["jobs [--status STATUS] [--limit N]"],
    options: {
      status: {
        kind: OptionKind.Choice,
        arg: "STATUS",
        choices: Object.values(JobStatus),
        default: "every status",
        help: "only jobs in this status",
      },
      limit: { kind: OptionKind.Integer, arg: "N", default: "no limit", help: "at most N jobs" },
    },
    run: async (ctx) => (await import("../commands/list.ts")).jobsCommand(ctx),
  },
  demo: {
    summary: "back up, change, back up and restore a sample disk in a throwaway vault",
    usage: ["demo [--size-mib N] [--keep]"],
    options: {
      "size-mib": {
        kind: OptionKind.Integer,
        arg: "N",
        min: 1,
        default: "256",
        help: "the sample disk's size in MiB",
      },
      keep: { kind: OptionKind.Flag, default: "off", help: "keep the throwaway vault and images" },
    },
    run: async (ctx) => (await import("../commands/demo.ts")).demoCommand(ctx),
  },
};

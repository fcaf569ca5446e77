import type { CommandSpec } from "../spec.ts";
import { OptionKind, type OptionSpec } from "../spec.ts";

/** `--approval ID`, presented by whoever repeats an approved critical operation. */
export const APPROVAL_OPTION: OptionSpec = {
  kind: OptionKind.String,
  arg: "ID",
  help: "the approved request that allows this critical operation",
};

/** Policies, protection, retention and deletion. */
export const PROTECTION_COMMANDS: Readonly<Record<string, CommandSpec>> = {
  policy: {
    summary: "create, update, show, list or delete backup policies",
    usage: [
      "policy create --file FILE",
      "policy update NAME --file FILE [--approval ID]",
      "policy show NAME",
      "policy list",
      "policy delete NAME",
    ],
    details: [
      "A policy is a JSON file (schedule, time zone, retention, tiers); a UTF-8 byte-order mark is allowed.",
    ],
    options: {
      file: {
        kind: OptionKind.Path,
        arg: "FILE",
        help: "the policy's JSON definition (- reads standard input)",
      },
      approval: APPROVAL_OPTION,
    },
    run: async (ctx) => (await import("../commands/policy.ts")).policyCommand(ctx),
  },
  protect: {
    summary: "put a disk under a policy, for run-due to back it up on schedule",
    usage: ["protect IMAGE --disk NAME --policy NAME [--approval ID]"],
    details: ["IMAGE is a path, s3://BUCKET/KEY or ebs://snap-ID, as for backup."],
    options: {
      disk: { kind: OptionKind.String, arg: "NAME", required: true, help: "the disk's name" },
      policy: { kind: OptionKind.String, arg: "NAME", required: true, help: "the policy to apply" },
      approval: APPROVAL_OPTION,
    },
    run: async (ctx) => (await import("../commands/lifecycle.ts")).protectCommand(ctx),
  },
  unprotect: {
    summary: "stop protecting a disk, keeping (or deleting) its points",
    usage: ["unprotect DISK [--delete-points [--approval ID]]"],
    options: {
      "delete-points": {
        kind: OptionKind.Flag,
        default: "off (points are kept)",
        help: "also delete the disk's recovery points (a critical operation)",
      },
      approval: APPROVAL_OPTION,
    },
    run: async (ctx) => (await import("../commands/lifecycle.ts")).unprotectCommand(ctx),
  },
  delete: {
    summary: "soft-delete a recovery point",
    usage: ["delete RECOVERY_POINT_ID [--approval ID]"],
    options: { approval: APPROVAL_OPTION },
    run: async (ctx) => (await import("../commands/lifecycle.ts")).deleteCommand(ctx),
  },
  undelete: {
    summary: "bring back a soft-deleted recovery point",
    usage: ["undelete RECOVERY_POINT_ID"],
    options: {},
    run: async (ctx) => (await import("../commands/lifecycle.ts")).undeleteCommand(ctx),
  },
  "run-due": {
    summary: "run what the policies say is due: backups, retention, tiering, purges, copies",
    usage: ["run-due [--at TIME]"],
    details: [
      "Run it from cron or a systemd timer; exits 1 if a backup or a copy failed. The policies' copyTo rules then copy the points made since the newest one each destination holds.",
    ],
    options: {
      at: { kind: OptionKind.Time, arg: "TIME", default: "now", help: "evaluate as of this ISO 8601 time" },
    },
    run: async (ctx) => (await import("../commands/lifecycle.ts")).runDueCommand(ctx),
  },
};

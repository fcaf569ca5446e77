import { ApprovalStatus } from "../../rules/approval-view.ts";
import { ROLES } from "../../rules/roles.ts";
import { parsePort } from "../port.ts";
import type { CommandSpec } from "../spec.ts";
import { OptionKind } from "../spec.ts";
import { APPROVAL_OPTION } from "./protection-commands.ts";

/** Vault settings, principals, approvals, audit, maintenance and the server. */
export const ADMIN_COMMANDS: Readonly<Record<string, CommandSpec>> = {
  vault: {
    summary: "show or change the vault's settings: lock, soft delete, key, restore directories",
    usage: [
      "vault show",
      "vault lock preview|enable|lock|disable [--approval ID]",
      "vault soft-delete [--days N] [--always-on] [--disable [--approval ID]]",
      "vault key rotate [--approval ID]",
      "vault restore-dirs add|remove DIR",
    ],
    options: {
      days: { kind: OptionKind.Integer, arg: "N", help: "soft-delete: the period in days (14 to 180)" },
      "always-on": {
        kind: OptionKind.Flag,
        default: "off",
        help: "soft-delete: make it impossible to turn off",
      },
      disable: {
        kind: OptionKind.Flag,
        default: "off",
        help: "soft-delete: turn it off (a critical operation)",
      },
      approval: APPROVAL_OPTION,
    },
    run: async (ctx) => (await import("../commands/vault-settings.ts")).vaultCommand(ctx),
  },
  principal: {
    summary: "manage who may use the vault and with which roles",
    usage: [
      "principal add NAME... --role ROLE [--role ROLE] [--approval ID]",
      "principal list",
      "principal remove NAME [--approval ID]",
      "principal roles NAME --role ROLE... [--approval ID]",
    ],
    options: {
      role: {
        kind: OptionKind.Choice,
        arg: "ROLE",
        multiple: true,
        choices: ROLES,
        help: "a role to give (repeat for several)",
      },
      approval: APPROVAL_OPTION,
    },
    run: async (ctx) => (await import("../commands/principal.ts")).principalCommand(ctx),
  },
  approvals: {
    summary: "list approval requests, or approve or reject one",
    usage: ["approvals list [--state STATE]", "approvals approve ID", "approvals reject ID"],
    options: {
      state: {
        kind: OptionKind.Choice,
        arg: "STATE",
        choices: Object.values(ApprovalStatus),
        default: "every state",
        help: "only requests in this state",
      },
    },
    run: async (ctx) => (await import("../commands/approvals.ts")).approvalsCommand(ctx),
  },
  audit: {
    summary: "show the audit log: who did what, when, and the outcome",
    usage: ["audit [--after SEQ] [--limit N] [--principal NAME] [--action ACTION]"],
    options: {
      after: {
        kind: OptionKind.Integer,
        arg: "SEQ",
        default: "the start",
        help: "only entries after this sequence number",
      },
      limit: { kind: OptionKind.Integer, arg: "N", default: "no limit", help: "at most N entries" },
      principal: {
        kind: OptionKind.String,
        arg: "NAME",
        default: "everyone",
        help: "only this principal's entries",
      },
      action: {
        kind: OptionKind.String,
        arg: "ACTION",
        default: "every action",
        help: "only this action (e.g. backup)",
      },
    },
    run: async (ctx) => (await import("../commands/audit.ts")).auditCommand(ctx),
  },
  check: {
    summary: "check that every recovery point is restorable (exit 5 when not)",
    usage: ["check [--read-data]"],
    options: {
      "read-data": { kind: OptionKind.Flag, default: "off", help: "also read and verify every stored block" },
    },
    run: async (ctx) => (await import("../commands/maintenance.ts")).checkCommand(ctx),
  },
  reclaim: {
    summary: "delete what interrupted backups left behind",
    usage: ["reclaim [--grace-hours N] [--dry-run]"],
    options: {
      "grace-hours": {
        kind: OptionKind.Integer,
        arg: "N",
        default: "24",
        help: "keep anything younger than N hours",
      },
      "dry-run": { kind: OptionKind.Flag, default: "off", help: "say what would be deleted, delete nothing" },
    },
    run: async (ctx) => (await import("../commands/maintenance.ts")).reclaimCommand(ctx),
  },
  gc: {
    summary: "release purged points' blocks and delete unreferenced packs",
    usage: ["gc"],
    options: {},
    run: async (ctx) => (await import("../commands/maintenance.ts")).gcCommand(ctx),
  },
  serve: {
    summary: "run the HTTP API, scheduler and state machines on this machine",
    usage: ["serve [--host HOST] [--port N] [--tick-seconds N] [--alert-webhook URL] [--drill-dir DIR]"],
    details: [
      "Every request needs a bearer token: a principal's, or the server's own (serve-token in the vault directory).",
    ],
    options: {
      host: {
        kind: OptionKind.String,
        arg: "HOST",
        default: "127.0.0.1",
        help: "the address or name to listen on",
      },
      port: {
        kind: OptionKind.Integer,
        arg: "N",
        default: "8080",
        help: "the port, 1 to 65535 (0: any free port)",
        check: (value) => {
          parsePort(value, 0);
        },
      },
      "tick-seconds": {
        kind: OptionKind.Integer,
        arg: "N",
        default: "60",
        help: "how often the scheduler runs",
      },
      "alert-webhook": {
        kind: OptionKind.String,
        arg: "URL",
        help: "also POST every alert (failed job, missed RPO, failed verification or drill) as JSON to this http(s) URL",
      },
      "drill-dir": {
        kind: OptionKind.String,
        arg: "DIR",
        default: "the system's temporary directory",
        help: "where restore drills restore to (room for the largest drilled disk; not a tmpfs for large disks)",
      },
    },
    // The application's runtime (HTTP, state machines) loads only when served.
    run: async (ctx) => (await import("../commands/serve.ts")).serveCommand(ctx),
  },
};

import { parseArgs } from "node:util";
import type { AwsVaultOptions } from "../compose/aws.ts";
import { BlockvaultError, ValidationError } from "../errors.ts";
import type { CommandContext } from "./context.ts";

type Option = { type: "string" | "boolean"; short?: string; multiple?: boolean };

const GLOBAL: Record<string, Option> = {
  vault: { type: "string" },
  keyring: { type: "string" },
  token: { type: "string" },
  backend: { type: "string" },
  bucket: { type: "string" },
  prefix: { type: "string" },
  table: { type: "string" },
  "kms-key": { type: "string" },
  region: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

const COMMANDS: Record<
  string,
  { run: (ctx: CommandContext) => Promise<void>; options: Record<string, Option>; usage: string }
> = {
  init: {
    run: async (ctx) => (await import("./commands/init.ts")).initCommand(ctx),
    options: { name: { type: "string" }, "block-size": { type: "string" } },
    usage: "init [--name NAME] [--block-size BYTES]",
  },
  backup: {
    run: async (ctx) => (await import("./commands/backup.ts")).backupCommand(ctx),
    options: { disk: { type: "string" } },
    usage: "backup IMAGE --disk NAME",
  },
  list: {
    run: async (ctx) => (await import("./commands/list.ts")).listCommand(ctx),
    options: { disk: { type: "string" } },
    usage: "list [--disk NAME]",
  },
  restore: {
    run: async (ctx) => (await import("./commands/restore.ts")).restoreCommand(ctx),
    options: {
      to: { type: "string" },
      force: { type: "boolean" },
      offset: { type: "string" },
      length: { type: "string" },
    },
    usage: "restore RECOVERY_POINT_ID --to PATH [--force] [--offset BYTES --length BYTES]",
  },
  jobs: {
    run: async (ctx) => (await import("./commands/list.ts")).jobsCommand(ctx),
    options: { status: { type: "string" }, limit: { type: "string" } },
    usage: "jobs [--status STATUS] [--limit N]",
  },
  policy: {
    run: async (ctx) => (await import("./commands/policy.ts")).policyCommand(ctx),
    options: { file: { type: "string" }, approval: { type: "string" } },
    usage:
      "policy create --file FILE | update NAME --file FILE [--approval ID] | show NAME | list | delete NAME",
  },
  protect: {
    run: async (ctx) => (await import("./commands/lifecycle.ts")).protectCommand(ctx),
    options: { disk: { type: "string" }, policy: { type: "string" }, approval: { type: "string" } },
    usage: "protect IMAGE --disk NAME --policy NAME [--approval ID]",
  },
  unprotect: {
    run: async (ctx) => (await import("./commands/lifecycle.ts")).unprotectCommand(ctx),
    options: { "delete-points": { type: "boolean" }, approval: { type: "string" } },
    usage: "unprotect DISK [--delete-points [--approval ID]]",
  },
  delete: {
    run: async (ctx) => (await import("./commands/lifecycle.ts")).deleteCommand(ctx),
    options: { approval: { type: "string" } },
    usage: "delete RECOVERY_POINT_ID [--approval ID]",
  },
  undelete: {
    run: async (ctx) => (await import("./commands/lifecycle.ts")).undeleteCommand(ctx),
    options: {},
    usage: "undelete RECOVERY_POINT_ID",
  },
  vault: {
    run: async (ctx) => (await import("./commands/vault-settings.ts")).vaultCommand(ctx),
    options: {
      days: { type: "string" },
      "always-on": { type: "boolean" },
      disable: { type: "boolean" },
      approval: { type: "string" },
    },
    usage:
      "vault show | lock preview|enable|lock|disable [--approval ID] | soft-delete [--days N] [--always-on] [--disable [--approval ID]] | key rotate [--approval ID] | restore-dirs add|remove DIR",
  },
  principal: {
    run: async (ctx) => (await import("./commands/principal.ts")).principalCommand(ctx),
    options: { role: { type: "string", multiple: true }, approval: { type: "string" } },
    usage:
      "principal add NAME... --role ROLE [--role ROLE] [--approval ID] | list | remove NAME [--approval ID] | roles NAME --role ROLE... [--approval ID]",
  },
  approvals: {
    run: async (ctx) => (await import("./commands/approvals.ts")).approvalsCommand(ctx),
    options: { state: { type: "string" } },
    usage: "approvals list [--state pending|approved|used] | approve ID",
  },
  audit: {
    run: async (ctx) => (await import("./commands/audit.ts")).auditCommand(ctx),
    options: {
      after: { type: "string" },
      limit: { type: "string" },
      principal: { type: "string" },
      action: { type: "string" },
    },
    usage: "audit [--after SEQ] [--limit N] [--principal NAME] [--action ACTION]",
  },
  "run-due": {
    run: async (ctx) => (await import("./commands/lifecycle.ts")).runDueCommand(ctx),
    options: { at: { type: "string" } },
    usage: "run-due [--at TIME]",
  },
  check: {
    run: async (ctx) => (await import("./commands/maintenance.ts")).checkCommand(ctx),
    options: { "read-data": { type: "boolean" } },
    usage: "check [--read-data]",
  },
  reclaim: {
    run: async (ctx) => (await import("./commands/maintenance.ts")).reclaimCommand(ctx),
    options: { "grace-hours": { type: "string" }, "dry-run": { type: "boolean" } },
    usage: "reclaim [--grace-hours N] [--dry-run]",
  },
  gc: {
    run: async (ctx) => (await import("./commands/maintenance.ts")).gcCommand(ctx),
    options: {},
    usage: "gc",
  },
  serve: {
    // The application's runtime (HTTP, state machines) loads only when served.
    run: async (ctx) => (await import("./commands/serve.ts")).serveCommand(ctx),
    options: { host: { type: "string" }, port: { type: "string" }, "tick-seconds": { type: "string" } },
    usage: "serve [--host HOST] [--port N] [--tick-seconds N]",
  },
  demo: {
    run: async (ctx) => (await import("./commands/demo.ts")).demoCommand(ctx),
    options: { "size-mib": { type: "string" }, keep: { type: "boolean" } },
    usage: "demo [--size-mib N] [--keep]",
  },
};

const HELP = `blockvault: a backup vault for virtual-machine disk images

Usage: blockvault <command> [options]

Commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.usage}`)
  .join("\n")}

Options for every command:
  --vault DIR      the vault directory (default: $BLOCKVAULT_HOME or ./.blockvault)
  --keyring FILE   the keyring file (default: keyring.json in the vault directory)
  --token TOKEN    your API token, once the vault has principals (default: $BLOCKVAULT_TOKEN)
  --backend local|aws   where the vault lives (default: $BLOCKVAULT_BACKEND or local)
  --bucket NAME    aws: the vault's S3 bucket ($BLOCKVAULT_BUCKET)
  --prefix PATH    aws: key prefix in the bucket, for several vaults per bucket ($BLOCKVAULT_PREFIX)
  --table NAME     aws: the DynamoDB catalog table ($BLOCKVAULT_TABLE)
  --kms-key KEY    aws: the KMS key id, ARN or alias ($BLOCKVAULT_KMS_KEY; init creates one if absent)
  --region REGION  aws: the region ($AWS_REGION); $AWS_ENDPOINT_URL points at LocalStack or moto
  --json           print machine-readable JSON
  -h, --help       show this help`;

/** Exit codes by error code: scripts can tell bad input from missing things from corruption. */
const EXIT_CODES: Record<string, number> = {
  INVALID_INPUT: 2,
  NOT_FOUND: 3,
  ALREADY_EXISTS: 4,
  INTEGRITY: 5,
  KEY: 6,
  SOURCE: 7,
  CONFLICT: 8,
  ACCESS_DENIED: 9,
  APPROVAL_REQUIRED: 10,
};

/** The AWS backend's settings from flags and environment, or undefined for the local backend. */
function awsOptions(values: Record<string, unknown>): AwsVaultOptions | undefined {
  const flag = (name: string, env: string) => (values[name] as string | undefined) ?? process.env[env];
  const backend = flag("backend", "BLOCKVAULT_BACKEND") ?? "local";
  if (backend === "local") return undefined;
  if (backend !== "aws") throw new ValidationError(`--backend must be "local" or "aws", got "${backend}"`);
  const region = flag("region", "AWS_REGION");
  const endpoint = process.env.AWS_ENDPOINT_URL;
  const prefix = flag("prefix", "BLOCKVAULT_PREFIX");
  const kmsKey = flag("kms-key", "BLOCKVAULT_KMS_KEY");
  return {
    bucket: flag("bucket", "BLOCKVAULT_BUCKET") ?? "",
    table: flag("table", "BLOCKVAULT_TABLE") ?? "",
    ...(prefix ? { prefix } : {}),
    ...(kmsKey ? { kmsKey } : {}),
    aws: { ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) },
  };
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes("--json");
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      console.log(HELP);
      return name === undefined ? 2 : 0;
    }
    const command = COMMANDS[name];
    if (!command) throw new ValidationError(`unknown command "${name}" (try --help)`);
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: { ...GLOBAL, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      console.log(`Usage: blockvault ${command.usage}`);
      return 0;
    }
    const ctx: CommandContext = {
      global: {
        vault: (values.vault as string | undefined) ?? process.env.BLOCKVAULT_HOME ?? ".blockvault",
        keyring: values.keyring as string | undefined,
        token: (values.token as string | undefined) ?? process.env.BLOCKVAULT_TOKEN,
        aws: awsOptions(values),
        json,
      },
      values: values as Record<string, string | boolean | string[] | undefined>,
      positionals,
      print: (data, text) => console.log(json ? JSON.stringify(data, null, 2) : text),
    };
    await command.run(ctx);
    return 0;
  } catch (err) {
    return report(err, json);
  }
}

function report(err: unknown, json: boolean): number {
  // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown or malformed options.
  const parseError = (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
  const error = parseError ? new ValidationError((err as Error).message) : err;
  if (error instanceof BlockvaultError) {
    if (json)
      console.error(
        JSON.stringify({ error: { name: error.name, code: error.code, message: error.message } }),
      );
    else console.error(`blockvault: ${error.message}`);
    return EXIT_CODES[error.code] ?? 1;
  }
  console.error(`blockvault: unexpected failure: ${(error as Error)?.stack ?? String(error)}`);
  return 1;
}

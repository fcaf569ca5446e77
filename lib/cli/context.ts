import type { AwsVaultOptions } from "../compose/aws.ts";
import { openCliVault } from "../compose/cli.ts";
import { ValidationError } from "../errors.ts";
import type { Clock } from "../ports/clock.ts";
import type { Vault } from "../vault.ts";
import { checkVaultDir } from "./vault-dir.ts";

/** Options every command understands. */
export interface GlobalOptions {
  readonly vault: string;
  readonly keyring: string | undefined;
  readonly json: boolean;
  /** The caller's API token, when the vault has principals. */
  readonly token: string | undefined;
  /** Set when the vault lives on AWS (`--backend aws`): bucket, table, key, client settings. */
  readonly aws?: AwsVaultOptions | undefined;
}

/** What a command gets: its parsed options and positionals, and output helpers. */
export interface CommandContext {
  readonly global: GlobalOptions;
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly positionals: readonly string[];
  /** Prints `json` when `--json` was given, else `text`. */
  readonly print: (json: unknown, text: string) => void;
}

/** Opens the vault the global options name; the caller closes it. */
export async function openVault(global: GlobalOptions, clock?: Clock): Promise<Vault> {
  // A --vault that is no directory is refused in one line before anything is opened.
  if (!global.aws) await checkVaultDir(global.vault);
  return openCliVault({
    dir: global.vault,
    keyring: global.keyring,
    token: global.token,
    aws: global.aws,
    clock,
  });
}

/** Runs `fn` with the vault open (on `clock`, default the system's), closing it afterwards. */
export async function withVault<T>(
  global: GlobalOptions,
  fn: (vault: Vault) => Promise<T>,
  clock?: Clock,
): Promise<T> {
  const vault = await openVault(global, clock);
  try {
    return await fn(vault);
  } finally {
    await vault.close();
  }
}

/** The single positional argument a command requires, with a usage error naming it. */
export function onePositional(ctx: CommandContext, name: string): string {
  const [first, ...rest] = ctx.positionals;
  if (first === undefined) throw new ValidationError(`missing ${name}`);
  if (rest.length > 0) throw new ValidationError(`unexpected argument "${rest[0]}"`);
  return first;
}

/** A string option that must be present. */
export function requiredOption(ctx: CommandContext, name: string): string {
  const value = ctx.values[name];
  if (typeof value !== "string" || value === "") throw new ValidationError(`missing --${name}`);
  return value;
}

/** A non-negative integer option, parsed strictly (no units, no fractions). */
export function integerOption(ctx: CommandContext, name: string): number | undefined {
  const value = ctx.values[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new ValidationError(`--${name} must be a non-negative integer, got "${String(value)}"`);
  }
  return Number(value);
}

/** The `--approval ID` a critical operation presents, if any. */
export function approvalOf(ctx: CommandContext): { approvalId?: string } {
  const id = ctx.values.approval;
  return typeof id === "string" && id !== "" ? { approvalId: id } : {};
}

import type { AwsVaultOptions } from "../adapters/aws/aws-vault.ts";
import { localVaultPaths, openLocalVault } from "../adapters/local/local-vault.ts";
import { resolvePrincipal } from "../adapters/local/principals.ts";
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
  // On AWS the caller is the IAM identity of the credentials in use, mapped by the vault's
  // principals: the same rules and approvals as an embedded vault's, enforced where the data is.
  if (global.aws) {
    // Loaded only for this backend: the AWS SDK adds a tenth of a second and 40 MiB to every run.
    const { openAwsVaultAsCaller } = await import("../adapters/aws/aws-vault.ts");
    return openAwsVaultAsCaller({ ...global.aws, ...(clock ? { clock } : {}) });
  }
  await checkVaultDir(global.vault);
  // Who is calling is settled before the vault is opened: a bad token opens nothing.
  const principal = await resolvePrincipal(localVaultPaths(global.vault).principals, global.token);
  const vault = await openLocalVault(global.vault, {
    ...(global.keyring ? { keyring: global.keyring } : {}),
    ...(clock ? { clock } : {}),
  });
  return vault.as(principal);
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

import { validateDiskName } from "../engine/backup/disk-name.ts";
import type { VaultContext } from "../engine/store/vault-config.ts";
import { ConflictError, NotFoundError, ValidationError } from "../errors.ts";
import {
  AgentKind,
  Consistency,
  type ConsistencyConfig,
  SnapshotKind,
  type VmDiskRecord,
  type VmRecord,
} from "../model.ts";
import { checkFreezeTargets } from "../util/freeze-guard.ts";
import { getPolicy } from "./policies.ts";

/** The longest a VM's file systems stay frozen unless its definition says otherwise. */
export const DEFAULT_FREEZE_WINDOW_MS = 10_000;
/** The most a freeze window may be: a freeze of seconds, never the length of a backup. */
export const MAX_FREEZE_WINDOW_MS = 60_000;
/** A script's time unless it says otherwise. */
export const DEFAULT_SCRIPT_TIMEOUT_MS = 60_000;

/** A VM as `vm protect` describes it; checked by {@link protectVm}. */
export interface VmDefinition {
  readonly name: string;
  /** The disks' sources in order, each with its size as read now. */
  readonly disks: readonly { readonly source: string; readonly size: number }[];
  readonly bootDisk?: number;
  readonly agent?: { readonly kind: string; readonly address: string };
  readonly freezeMounts?: readonly string[];
  readonly preScripts?: readonly { readonly command: string; readonly timeoutMs?: number }[];
  readonly postScripts?: readonly { readonly command: string; readonly timeoutMs?: number }[];
  readonly freezeWindowMs?: number;
  readonly snapshot?: string;
  readonly policy?: string;
  readonly minimum?: string;
}

/**
 * Whether `input` sets guest commands (agent, scripts, mount points to freeze) other than those
 * `existing` has: what a VM backup runs as the agent's machine, which takes its own role.
 */
export function changesGuestCommands(input: VmDefinition, existing: VmRecord | undefined): boolean {
  const wanted = consistencyOf(input);
  const had = existing?.consistency;
  const pick = (c: ConsistencyConfig | undefined) =>
    JSON.stringify([c?.agent ?? null, c?.freezeMounts ?? [], c?.preScripts ?? [], c?.postScripts ?? []]);
  return pick(wanted) !== pick(had);
}

/** The vault's name of disk `index` of VM `vm`. */
export function vmDiskName(vm: string, index: number): string {
  return `${vm}.disk${index}`;
}

/**
 * Protects a VM, or changes how an existing one is protected: its disks become disks of the vault
 * named `<vm>.disk<index>`, each backed up as a chain of its own, and a VM backup captures all of
 * them at one moment. A disk name that a disk outside the VM already uses is refused, and so is
 * a changed disk list of a VM that has points (protect it under a new name). Without an agent but
 * with scripts or mount points to freeze, the VM's commands run on this machine (`local`).
 */
export async function protectVm(ctx: VaultContext, input: VmDefinition): Promise<VmRecord> {
  validateDiskName(input.name);
  if (input.disks.length === 0)
    throw new ValidationError(`VM ${input.name} needs at least one disk (--disk SRC)`);
  const disks: VmDiskRecord[] = input.disks.map((d, i) => ({
    disk: vmDiskName(input.name, i),
    source: d.source,
    size: d.size,
  }));
  for (const d of disks) validateDiskName(d.disk);
  const vaultId = ctx.config.vaultId;
  const existing = await ctx.deps.catalog.getVm(vaultId, input.name).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  await checkDisksFree(ctx, input.name, disks, existing);
  if (input.policy !== undefined) await getPolicy(ctx, input.policy);
  const record: VmRecord = {
    vaultId,
    name: input.name,
    created: existing?.created ?? ctx.deps.clock.now(),
    disks,
    bootDisk: checkBootDisk(input.bootDisk ?? 0, disks.length),
    consistency: consistencyOf(input),
    snapshot: oneOf("--snapshot", input.snapshot ?? SnapshotKind.Copy, SnapshotKind),
    ...(input.policy !== undefined ? { policy: input.policy } : {}),
  };
  for (const d of disks) {
    await ctx.deps.catalog.putDisk({
      vaultId,
      name: d.disk,
      created: record.created,
      size: d.size,
      source: d.source,
    });
  }
  await ctx.deps.catalog.putVm(record);
  return record;
}

/** Refuses disk names in use outside this VM, and a changed disk list of a VM with points. */
async function checkDisksFree(
  ctx: VaultContext,
  vm: string,
  disks: readonly VmDiskRecord[],
  existing: VmRecord | undefined,
): Promise<void> {
  const vaultId = ctx.config.vaultId;
  if (existing) {
    const same =
      existing.disks.length === disks.length && existing.disks.every((d, i) => d.source === disks[i]?.source);
    if (!same && (await ctx.deps.catalog.listVmPoints(vaultId, vm)).length > 0) {
      throw new ConflictError(
        `VM ${vm} has recovery points: its disks cannot change; protect the new disks as another VM`,
      );
    }
    return;
  }
  for (const d of disks) {
    const taken = await ctx.deps.catalog.getDisk(vaultId, d.disk).then(
      () => true,
      (err: unknown) => {
        if (err instanceof NotFoundError) return false;
        throw err;
      },
    );
    if (taken)
      throw new ConflictError(
        `disk name ${d.disk} is already used by a disk of this vault; choose another VM name`,
      );
  }
}

function consistencyOf(input: VmDefinition): ConsistencyConfig {
  const freezeMounts = input.freezeMounts?.length ? checkFreezeTargets(input.freezeMounts) : [];
  const preScripts = (input.preScripts ?? []).map((s) => script("--pre-script", s));
  const postScripts = (input.postScripts ?? []).map((s) => script("--post-script", s));
  const needsLocal = freezeMounts.length > 0 || preScripts.length > 0 || postScripts.length > 0;
  const agent = input.agent
    ? {
        kind: oneOf("--agent", input.agent.kind, AgentKind),
        address: nonEmpty("--agent", input.agent.address, input.agent.kind),
      }
    : needsLocal
      ? { kind: AgentKind.Local, address: "" }
      : undefined;
  const windowMs = input.freezeWindowMs ?? DEFAULT_FREEZE_WINDOW_MS;
  if (!Number.isSafeInteger(windowMs) || windowMs < 100 || windowMs > MAX_FREEZE_WINDOW_MS) {
    throw new ValidationError(`freeze window must be 100 to ${MAX_FREEZE_WINDOW_MS} ms, got ${windowMs}`);
  }
  return {
    ...(agent ? { agent } : {}),
    freezeMounts,
    preScripts,
    postScripts,
    freezeWindowMs: windowMs,
    ...(input.minimum !== undefined
      ? { minimum: oneOf("--minimum-consistency", input.minimum, Consistency) }
      : {}),
  };
}

function script(option: string, s: { command: string; timeoutMs?: number }) {
  const command = nonEmpty(option, s.command, "");
  const timeoutMs = s.timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0)
    throw new ValidationError(`${option} timeout must be a positive number of ms`);
  return { command, timeoutMs };
}

function checkBootDisk(index: number, count: number): number {
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new ValidationError(`boot disk ${index} is not one of the VM's ${count} disks (0 to ${count - 1})`);
  }
  return index;
}

function oneOf<T extends Readonly<Record<string, string>>>(
  option: string,
  value: string,
  values: T,
): T[keyof T] {
  const allowed = Object.values(values);
  if (!allowed.includes(value))
    throw new ValidationError(`${option} must be one of ${allowed.join(", ")}, got "${value}"`);
  return value as T[keyof T];
}

function nonEmpty(option: string, value: string, kind: string): string {
  if (typeof value !== "string" || value.trim() === "" || /[\0\n\r]/.test(value)) {
    throw new ValidationError(`${option} ${kind ? `${kind}: ` : ""}needs a value`);
  }
  return value;
}

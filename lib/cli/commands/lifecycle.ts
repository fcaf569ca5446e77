import { copyDestinations } from "../../compose/copy-destinations.ts";
import { openSource } from "../../compose/open-source.ts";
import { ValidationError } from "../../errors.ts";
import { type CopyOutcome, runCopyRules } from "../../rules/copy-rules.ts";
import { approvalOf, type CommandContext, onePositional, requiredOption, withVault } from "../context.ts";
import { formatTime } from "../format.ts";

/** `blockvault protect IMAGE --disk NAME --policy NAME [--approval ID]`. */
export async function protectCommand(ctx: CommandContext): Promise<void> {
  const image = onePositional(ctx, "IMAGE (the disk image or block device to protect)");
  const disk = requiredOption(ctx, "disk");
  const policy = requiredOption(ctx, "policy");
  await withVault(ctx.global, async (vault) => {
    const source = await openSource(image, ctx.global.aws?.aws);
    try {
      const record = await vault.protect(source, disk, policy, approvalOf(ctx));
      ctx.print(
        record,
        `Disk "${disk}" (${image}) is protected by policy "${policy}"; run-due backs it up on schedule`,
      );
    } finally {
      await source.close();
    }
  });
}

/** `blockvault delete POINT`: soft delete. */
export async function deleteCommand(ctx: CommandContext): Promise<void> {
  const id = onePositional(ctx, "RECOVERY_POINT_ID");
  await withVault(ctx.global, async (vault) => {
    const p = await vault.deletePoint(id, approvalOf(ctx));
    ctx.print(
      p,
      p.state === "purged"
        ? `Recovery point ${id} purged (soft delete is disabled in this vault)`
        : `Recovery point ${id} soft-deleted: restorable and undeletable until ${formatTime(p.deleteAfter ?? 0)}`,
    );
  });
}

/** `blockvault undelete POINT`. */
export async function undeleteCommand(ctx: CommandContext): Promise<void> {
  const id = onePositional(ctx, "RECOVERY_POINT_ID");
  await withVault(ctx.global, async (vault) => {
    const p = await vault.undeletePoint(id);
    ctx.print(p, `Recovery point ${id} is available again`);
  });
}

/** `blockvault run-due [--at TIME]`: what the scheduled function does, once, here. */
export async function runDueCommand(ctx: CommandContext): Promise<void> {
  if (ctx.positionals.length > 0) throw new ValidationError(`unexpected argument "${ctx.positionals[0]}"`);
  const at = ctx.values.at;
  let clock: { now: () => number } | undefined;
  if (typeof at === "string") {
    const ms = Date.parse(at);
    if (Number.isNaN(ms)) throw new ValidationError(`--at must be an ISO 8601 time, got "${at}"`);
    clock = { now: () => ms };
  }
  await withVault(
    ctx.global,
    async (vault) => {
      const { openVmDeps } = await import("../../compose/vm.ts");
      const r = await vault.runDue(
        (path) => openSource(path, ctx.global.aws?.aws),
        (vm) => openVmDeps(vm),
      );
      // The policies' copy rules follow the backups they copy, as the embedded runtime's tick.
      const copies = await runCopyRules(
        vault,
        copyDestinations({ aws: ctx.global.aws?.aws ?? {}, directories: true }),
      );
      const lines = [
        ...r.backups.map((b) =>
          b.result
            ? `backed up ${b.disk} for ${formatTime(b.slot)}: point ${b.result.recoveryPointId}`
            : b.error
              ? `FAILED ${b.disk} for ${formatTime(b.slot)}: ${b.error}`
              : `${b.disk}: ${b.skipped} (${formatTime(b.slot)})`,
        ),
        ...(r.vms ?? []).flatMap((v) =>
          v.vmRecoveryPointId
            ? [
                `backed up VM ${v.vm} for ${formatTime(v.slot ?? 0)}: VM point ${v.vmRecoveryPointId} (${v.consistency})`,
              ]
            : v.error
              ? [`FAILED VM ${v.vm} for ${formatTime(v.slot ?? 0)}: ${v.error}`]
              : [],
        ),
        ...r.expired.map((id) => `retention: soft-deleted ${id}`),
        ...r.tiered.map((t) => `tier: ${t.id} -> ${t.tier}`),
        ...r.purged.map((id) => `purged ${id}`),
        ...copies.filter((c) => c.status !== "busy").map(copyLine),
      ];
      ctx.print({ ...r, copies }, lines.length ? lines.join("\n") : "Nothing due.");
      const failed = r.backups.some((b) => b.error) || (r.vms ?? []).some((v) => v.error);
      if (failed || copies.some((c) => c.status === "failed")) process.exitCode = 1;
    },
    clock,
  );
}

/** `blockvault unprotect DISK [--delete-points [--approval ID]]`. */
export async function unprotectCommand(ctx: CommandContext): Promise<void> {
  const disk = onePositional(ctx, "DISK");
  const deletePoints = ctx.values["delete-points"] === true;
  await withVault(ctx.global, async (vault) => {
    const record = await vault.unprotect(disk, { deletePoints }, approvalOf(ctx));
    ctx.print(
      record,
      deletePoints
        ? `Disk "${disk}" is no longer protected, and its recovery points were deleted (soft delete applies)`
        : `Disk "${disk}" is no longer protected; its recovery points are kept`,
    );
  });
}

function copyLine(copy: CopyOutcome): string {
  if (copy.status === "failed")
    return `FAILED copy of ${copy.disk}${copy.sourcePoint ? ` point ${copy.sourcePoint}` : ""} to ${copy.destination}: ${copy.error ?? "failed"}`;
  return `copied ${copy.disk} point ${copy.sourcePoint} to ${copy.destination}: point ${copy.destinationPoint ?? "?"}`;
}

import { ValidationError } from "../../errors.ts";
import { approvalOf, type CommandContext, integerOption, withVault } from "../context.ts";
import { formatBytes, formatTime, table } from "../format.ts";

/**
 * `blockvault vault show | lock preview|enable|lock|disable | soft-delete [--days N] [--always-on]
 * [--disable] | key rotate | restore-dirs add|remove DIR`; the critical ones take `--approval ID`.
 */
export async function vaultCommand(ctx: CommandContext): Promise<void> {
  const [area, action, ...rest] = ctx.positionals;
  // `restore-dirs add DIR` is the one form with an operand.
  const operand =
    area === "restore-dirs" && (action === "add" || action === "remove") ? rest.shift() : undefined;
  if (rest.length > 0) throw new ValidationError(`unexpected argument "${rest[0]}"`);
  await withVault(ctx.global, async (vault) => {
    if (area === "show") {
      const s = await vault.settings();
      return ctx.print(
        { id: vault.id, name: vault.name, ...s },
        [
          `Vault "${vault.name}" (${vault.id})`,
          `  soft delete: ${s.softDeleteEnabled ? `${s.softDeleteDays} days` : "disabled"}${s.softDeleteAlwaysOn ? ", always on" : ""}`,
          `  lock: ${s.lock}`,
          `  restore directories (restores over HTTP): ${s.restoreDirectories.length ? s.restoreDirectories.join(", ") : "none (file restores over HTTP are refused)"}`,
        ].join("\n"),
      );
    }
    if (area === "lock" && action === "preview") {
      const p = await vault.lockPreview();
      const rows = p.points.map((x) => [x.id, x.disk, formatTime(x.until), formatBytes(x.bytesStored)]);
      const summary = `Locking commits ${p.points.length} recovery points (${formatBytes(p.bytesCommitted)}) until ${p.until ? formatTime(p.until) : "-"} at the latest.`;
      return ctx.print(
        p,
        rows.length ? `${table(["POINT", "DISK", "RETAINED UNTIL", "STORED"], rows)}\n${summary}` : summary,
      );
    }
    if (area === "lock" && (action === "enable" || action === "lock" || action === "disable")) {
      const target = action === "enable" ? "enabled" : action === "lock" ? "locked" : "unlocked";
      const s = await vault.setLock(target, approvalOf(ctx));
      const said = {
        enabled:
          "Vault lock enabled: points cannot be deleted before their retention ends, and retention cannot be cut.",
        locked: "Vault LOCKED. This cannot be undone.",
        unlocked: "Vault lock disabled.",
      } as const;
      return ctx.print(s, said[target]);
    }
    if (area === "soft-delete" && action === undefined) {
      const days = integerOption(ctx, "days");
      const alwaysOn = ctx.values["always-on"] === true;
      const disable = ctx.values.disable === true;
      if (days === undefined && !alwaysOn && !disable) {
        throw new ValidationError("soft-delete needs --days N, --always-on or --disable");
      }
      const change = {
        ...(days !== undefined ? { days } : {}),
        ...(alwaysOn ? { alwaysOn } : {}),
        ...(disable ? { enabled: false } : {}),
      };
      const s = await vault.setSoftDelete(change, approvalOf(ctx));
      const state = s.softDeleteEnabled
        ? `${s.softDeleteDays} days${s.softDeleteAlwaysOn ? ", always on" : ""}`
        : "disabled";
      return ctx.print(s, `Soft delete: ${state}`);
    }
    if (area === "restore-dirs" && (action === "add" || action === "remove")) {
      if (operand === undefined) throw new ValidationError(`vault restore-dirs ${action} needs a directory`);
      const s =
        action === "add"
          ? await vault.addRestoreDirectory(operand)
          : await vault.removeRestoreDirectory(operand);
      return ctx.print(
        { restoreDirectories: s.restoreDirectories },
        `Restore directories: ${s.restoreDirectories.length ? s.restoreDirectories.join(", ") : "none"}`,
      );
    }
    if (area === "key" && action === "rotate") {
      const rotation = await vault.rotateKey(approvalOf(ctx));
      return ctx.print(
        rotation,
        `Vault key rotated: new data keys are wrapped under ${rotation.current}; ${rotation.previous} still unwraps what it wrapped.`,
      );
    }
    throw new ValidationError(
      "vault needs: show | lock preview|enable|lock|disable | soft-delete [--days N] [--always-on] [--disable] | key rotate | restore-dirs add|remove DIR",
    );
  });
}

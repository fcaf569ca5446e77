import { ValidationError } from "../../errors.ts";
import { type CommandContext, integerOption, withVault } from "../context.ts";
import { formatBytes, formatTime, table } from "../format.ts";

/** `blockvault vault show | lock preview|enable|lock | soft-delete [--days N] [--always-on]`. */
export async function vaultCommand(ctx: CommandContext): Promise<void> {
  const [area, action, ...rest] = ctx.positionals;
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
    if (area === "lock" && (action === "enable" || action === "lock")) {
      const s = await vault.setLock(action === "enable" ? "enabled" : "locked");
      return ctx.print(
        s,
        action === "enable"
          ? "Vault lock enabled: points cannot be deleted before their retention ends, and retention cannot be cut."
          : "Vault LOCKED. This cannot be undone.",
      );
    }
    if (area === "soft-delete" && action === undefined) {
      const days = integerOption(ctx, "days");
      const alwaysOn = ctx.values["always-on"] === true;
      if (days === undefined && !alwaysOn)
        throw new ValidationError("soft-delete needs --days N or --always-on");
      const s = await vault.setSoftDelete({
        ...(days !== undefined ? { days } : {}),
        ...(alwaysOn ? { alwaysOn } : {}),
      });
      return ctx.print(
        s,
        `Soft delete: ${s.softDeleteDays} days${s.softDeleteAlwaysOn ? ", always on" : ""}`,
      );
    }
    throw new ValidationError(
      "vault needs: show | lock preview | lock enable | lock lock | soft-delete [--days N] [--always-on]",
    );
  });
}

import { ValidationError } from "../../errors.ts";
import { type CommandContext, integerOption, withVault } from "../context.ts";
import { formatTime, table } from "../format.ts";

/** `blockvault audit [--after SEQ] [--limit N] [--principal P] [--action A]`: the audit log. */
export async function auditCommand(ctx: CommandContext): Promise<void> {
  if (ctx.positionals.length > 0) throw new ValidationError(`unexpected argument "${ctx.positionals[0]}"`);
  const afterSeq = integerOption(ctx, "after");
  const limit = integerOption(ctx, "limit");
  const principal = typeof ctx.values.principal === "string" ? ctx.values.principal : undefined;
  const action = typeof ctx.values.action === "string" ? ctx.values.action : undefined;
  await withVault(ctx.global, async (vault) => {
    const entries = await vault.listAudit({
      ...(afterSeq !== undefined ? { afterSeq } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(principal ? { principal } : {}),
      ...(action ? { action } : {}),
    });
    const rows = entries.map((e) => [
      String(e.seq),
      formatTime(e.at),
      e.principal,
      e.action,
      e.target ?? "",
      e.outcome,
      e.detail ? Object.values(e.detail).join("; ") : "",
    ]);
    ctx.print(
      entries,
      entries.length
        ? table(["SEQ", "AT", "PRINCIPAL", "ACTION", "TARGET", "OUTCOME", "DETAIL"], rows)
        : "No audit entries.",
    );
  });
}

import { ValidationError } from "../../errors.ts";
import type { ApprovalState } from "../../model.ts";
import { type CommandContext, withVault } from "../context.ts";
import { formatTime, table } from "../format.ts";

/** `blockvault approvals list [--state S] | approve ID`: multi-user authorization. */
export async function approvalsCommand(ctx: CommandContext): Promise<void> {
  const [action, id, ...rest] = ctx.positionals;
  if (rest.length > 0) throw new ValidationError(`unexpected argument "${rest[0]}"`);
  await withVault(ctx.global, async (vault) => {
    if (action === "list") {
      // Its values were checked against the command table's choices.
      const state = ctx.values.state as ApprovalState | undefined;
      const all = await vault.listApprovals(state ? { state } : {});
      const rows = all.map((a) => [
        a.id,
        a.operation,
        a.target ?? "",
        a.requester,
        a.state,
        a.approver ?? "",
        formatTime(a.expires),
      ]);
      return ctx.print(
        all,
        all.length
          ? table(["ID", "OPERATION", "TARGET", "REQUESTER", "STATE", "APPROVER", "EXPIRES"], rows)
          : "No approval requests.",
      );
    }
    if (action === "approve") {
      if (id === undefined) throw new ValidationError("missing approval request ID");
      const a = await vault.approve(id);
      return ctx.print(
        a,
        `Approved ${a.operation}${a.target ? ` of ${a.target}` : ""} requested by ${a.requester}; they may now repeat it with --approval ${a.id}`,
      );
    }
    throw new ValidationError(`approvals needs an action: list or approve (got "${action ?? ""}")`);
  });
}

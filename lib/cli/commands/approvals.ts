import { ValidationError } from "../../errors.ts";
import { type ApprovalStatus, approvalView } from "../../rules/approval-view.ts";
import { type CommandContext, withVault } from "../context.ts";
import { formatTime, table } from "../format.ts";

/** `blockvault approvals list [--state S] | approve ID | reject ID`: multi-user authorization. */
export async function approvalsCommand(ctx: CommandContext): Promise<void> {
  const [action, id, ...rest] = ctx.positionals;
  if (rest.length > 0) throw new ValidationError(`unexpected argument "${rest[0]}"`);
  await withVault(ctx.global, async (vault) => {
    if (action === "list") {
      // Its values were checked against the command table's choices.
      const state = ctx.values.state as ApprovalStatus | undefined;
      const all = await vault.approvalViews(state);
      const rows = all.map((a) => [
        a.id,
        a.operation,
        a.target ?? "",
        a.requester,
        a.state,
        a.approver ?? a.rejecter ?? "",
        formatTime(a.expires),
      ]);
      return ctx.print(
        all,
        all.length
          ? table(["ID", "OPERATION", "TARGET", "REQUESTER", "STATE", "DECIDED BY", "EXPIRES"], rows)
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
    if (action === "reject") {
      if (id === undefined) throw new ValidationError("missing approval request ID");
      const a = approvalView(await vault.reject(id));
      return ctx.print(
        a,
        `Rejected ${a.operation}${a.target ? ` of ${a.target}` : ""} requested by ${a.requester}; the request can no longer be approved or used`,
      );
    }
    throw new ValidationError(`approvals needs an action: list, approve or reject (got "${action ?? ""}")`);
  });
}

import { readFile } from "node:fs/promises";
import { ValidationError } from "../../errors.ts";
import { scheduleLabel } from "../../policy/policy.ts";
import type { StoredPolicy } from "../../rules/policies.ts";
import { approvalOf, type CommandContext, requiredOption, withVault } from "../context.ts";
import { formatTime, table } from "../format.ts";

async function readDefinition(ctx: CommandContext): Promise<unknown> {
  const file = requiredOption(ctx, "file");
  let text: string;
  try {
    text = file === "-" ? await readStdin() : await readFile(file, "utf8");
  } catch (cause) {
    throw new ValidationError(`cannot read policy file ${file}: ${(cause as Error).message}`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ValidationError(`policy file ${file} is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function describe(p: StoredPolicy): string {
  return `${p.name} (version ${p.version}, updated ${formatTime(p.updated)})\n${JSON.stringify(p.definition, null, 2)}`;
}

/** `blockvault policy create|update|show|list`. */
export async function policyCommand(ctx: CommandContext): Promise<void> {
  const [action, name, ...rest] = ctx.positionals;
  if (rest.length > 0) throw new ValidationError(`unexpected argument "${rest[0]}"`);
  await withVault(ctx.global, async (vault) => {
    switch (action) {
      case "create": {
        if (name !== undefined)
          throw new ValidationError(`policy create takes the name from the file, not "${name}"`);
        const p = await vault.createPolicy(await readDefinition(ctx));
        return ctx.print(p, `Created policy ${describe(p)}`);
      }
      case "update": {
        if (name === undefined) throw new ValidationError("missing POLICY name");
        const p = await vault.updatePolicy(name, await readDefinition(ctx), approvalOf(ctx));
        return ctx.print(p, `Updated policy ${describe(p)}`);
      }
      case "show": {
        if (name === undefined) throw new ValidationError("missing POLICY name");
        const p = await vault.getPolicy(name);
        return ctx.print(p, describe(p));
      }
      case "delete": {
        if (name === undefined) throw new ValidationError("missing POLICY name");
        await vault.deletePolicy(name);
        return ctx.print({ deleted: name }, `Deleted policy ${name}`);
      }
      case "list": {
        const all = await vault.listPolicies();
        const rows = all.map((p) => [
          p.name,
          scheduleLabel(p.definition.schedule),
          p.definition.timeZone,
          String(p.version),
        ]);
        return ctx.print(
          all,
          all.length ? table(["NAME", "SCHEDULE", "TIME ZONE", "VERSION"], rows) : "No policies.",
        );
      }
      default:
        throw new ValidationError(
          `policy needs an action: create, update, show, list or delete (got "${action ?? ""}")`,
        );
    }
  });
}

import { readFile } from "node:fs/promises";
import { NotFoundError, ValidationError } from "../../errors.ts";
import { scheduleLabel } from "../../policy/policy.ts";
import type { StoredPolicy } from "../../rules/policies.ts";
import { approvalOf, type CommandContext, requiredOption, withVault } from "../context.ts";
import { formatTime, table } from "../format.ts";

async function readDefinition(ctx: CommandContext): Promise<unknown> {
  const file = requiredOption(ctx, "file");
  const text = stripByteOrderMark(file === "-" ? await readStdin() : await readPolicyFile(file));
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ValidationError(`policy file ${file} is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** The file's text, or an error naming the file and what is wrong with it in words. */
async function readPolicyFile(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new NotFoundError(`policy file ${file} does not exist`, { cause });
    if (code === "EISDIR") throw new ValidationError(`policy file ${file} is a directory`, { cause });
    throw new ValidationError(`cannot read policy file ${file} (${code ?? (cause as Error).message})`, {
      cause,
    });
  }
}

/** Editors on Windows start UTF-8 files with a byte-order mark, which JSON does not allow. */
function stripByteOrderMark(text: string): string {
  return text.startsWith("\uFEFF") ? text.slice(1) : text;
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

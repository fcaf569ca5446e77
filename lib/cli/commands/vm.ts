import { openSource } from "../../compose/open-source.ts";
import { openVmDeps } from "../../compose/vm.ts";
import { ValidationError } from "../../errors.ts";
import type { VmPointRecord } from "../../model.ts";
import type { VmDefinition } from "../../rules/vms.ts";
import { restoreFormat } from "../../util/restore-format.ts";
import { approvalOf, type CommandContext, integerOption, withVault } from "../context.ts";
import { formatBytes, formatTime, table } from "../format.ts";

/** `blockvault vm protect|list|show|delete-point|undelete-point …`. */
export async function vmCommand(ctx: CommandContext): Promise<void> {
  const [sub, ...rest] = ctx.positionals;
  const only = (name: string) => {
    if (rest.length !== 1) throw new ValidationError(`vm ${sub} takes one ${name}`);
    return rest[0]!;
  };
  switch (sub) {
    case "protect":
      return protectVmCommand(ctx, only("NAME"));
    case "list":
      if (rest.length > 0) throw new ValidationError(`unexpected argument "${rest[0]}"`);
      return withVault(ctx.global, async (vault) => {
        const vms = await vault.listVms();
        const rows = vms.map((v) => [
          v.name,
          String(v.disks.length),
          v.consistency.agent?.kind ?? "none",
          v.snapshot,
          v.policy ?? "",
        ]);
        ctx.print(
          vms,
          vms.length === 0 ? "No VMs." : table(["VM", "DISKS", "AGENT", "SNAPSHOT", "POLICY"], rows),
        );
      });
    case "show": {
      const name = only("NAME");
      return withVault(ctx.global, async (vault) => {
        const vm = await vault.getVm(name);
        ctx.print(vm, JSON.stringify(vm, null, 2));
      });
    }
    case "delete-point": {
      const id = only("VM_POINT_ID");
      return withVault(ctx.global, async (vault) => {
        const p = await vault.deleteVmPoint(id, approvalOf(ctx));
        ctx.print(p, `VM point ${id} and its ${p.points.length} disk points ${p.state}`);
      });
    }
    case "undelete-point": {
      const id = only("VM_POINT_ID");
      return withVault(ctx.global, async (vault) => {
        const p = await vault.undeleteVmPoint(id);
        ctx.print(p, `VM point ${id} and its ${p.points.length} disk points are available again`);
      });
    }
    default:
      throw new ValidationError(
        `vm needs protect, list, show, delete-point or undelete-point (see blockvault vm --help)`,
      );
  }
}

async function protectVmCommand(ctx: CommandContext, name: string): Promise<void> {
  const sources = strings(ctx, "disk");
  if (sources.length === 0) throw new ValidationError("vm protect needs at least one --disk SRC");
  const timeoutMs = (integerOption(ctx, "script-timeout") ?? 60) * 1000;
  const windowMs = integerOption(ctx, "freeze-window-ms");
  const boot = integerOption(ctx, "boot-disk");
  const definition: VmDefinition = {
    name,
    disks: await Promise.all(sources.map(async (source) => ({ source, size: await sizeOf(source) }))),
    ...(boot !== undefined ? { bootDisk: boot } : {}),
    ...agentOption(ctx.values.agent),
    freezeMounts: strings(ctx, "freeze-mount"),
    preScripts: strings(ctx, "pre-script").map((command) => ({ command, timeoutMs })),
    postScripts: strings(ctx, "post-script").map((command) => ({ command, timeoutMs })),
    ...(windowMs !== undefined ? { freezeWindowMs: windowMs } : {}),
    ...(typeof ctx.values.snapshot === "string" ? { snapshot: ctx.values.snapshot } : {}),
    ...(typeof ctx.values.policy === "string" ? { policy: ctx.values.policy } : {}),
    ...(typeof ctx.values["minimum-consistency"] === "string"
      ? { minimum: ctx.values["minimum-consistency"] }
      : {}),
  };
  await withVault(ctx.global, async (vault) => {
    const vm = await vault.protectVm(definition);
    ctx.print(
      vm,
      `VM "${name}" is protected: ${vm.disks.map((d) => `${d.disk} (${d.source})`).join(", ")}; back it up with blockvault backup --vm ${name}`,
    );
  });
}

/** `--agent qemu-ga:SOCKET`, `--agent ssm:INSTANCE_ID` or `--agent local`. */
function agentOption(value: unknown): Pick<VmDefinition, "agent"> {
  if (typeof value !== "string") return {};
  if (value === "local") return { agent: { kind: "local", address: "" } };
  const at = value.indexOf(":");
  if (at <= 0)
    throw new ValidationError(`--agent must be qemu-ga:SOCKET, ssm:INSTANCE_ID or local, got "${value}"`);
  return { agent: { kind: value.slice(0, at), address: value.slice(at + 1) } };
}

/** A disk's size now: read from the source (an EC2 volume's from EC2). */
async function sizeOf(source: string): Promise<number> {
  if (source.startsWith("ec2://")) {
    const { ebsVolumeSize } = await import("../../adapters/aws/ebs-multi-snapshots.ts");
    return ebsVolumeSize(source);
  }
  const opened = await openSource(source);
  try {
    return opened.size;
  } finally {
    await opened.close();
  }
}

function strings(ctx: CommandContext, name: string): string[] {
  const value = ctx.values[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [String(value)];
}

/** `blockvault backup --vm NAME`: one VM recovery point of every disk of the VM. */
export async function backupVmCommand(ctx: CommandContext, name: string): Promise<void> {
  if (ctx.positionals.length > 0)
    throw new ValidationError(`backup --vm takes no IMAGE, got "${ctx.positionals[0]}"`);
  if (ctx.values.disk !== undefined)
    throw new ValidationError("backup --vm takes no --disk: the VM names its disks");
  await withVault(ctx.global, async (vault) => {
    const r = await vault.backupVm(name, (vm) => openVmDeps(vm));
    ctx.print(
      r,
      [
        `VM point ${r.vmRecoveryPointId} of VM "${name}": ${r.consistency}${r.consistencyReason ? ` (${r.consistencyReason})` : ""}`,
        ...(r.freezeMs !== undefined ? [`  frozen for ${r.freezeMs} ms`] : []),
        ...r.disks.map(
          (d) =>
            `  ${d.disk}: ${d.recoveryPointId} (${d.parent ? "incremental" : "full"}), stored ${formatBytes(d.bytesStored)}`,
        ),
        ...r.capture.steps.map((s) => `  ${s.step}: ${s.ok ? "ok" : "failed"} in ${s.ms} ms, ${s.detail}`),
      ].join("\n"),
    );
  });
}

/** `blockvault list --vm NAME`: the VM's points, newest first, with their consistency. */
export async function listVmCommand(ctx: CommandContext, name: string): Promise<void> {
  if (ctx.positionals.length > 0) throw new ValidationError(`unexpected argument "${ctx.positionals[0]}"`);
  await withVault(ctx.global, async (vault) => {
    const points = await vault.listVmPoints(name);
    const rows = points.map((p: VmPointRecord) => [
      p.id,
      p.vm,
      formatTime(p.created),
      String(p.points.length),
      p.consistency,
      p.state,
      p.consistencyReason ?? "",
    ]);
    ctx.print(
      points,
      points.length === 0
        ? "No VM points."
        : table(["ID", "VM", "CREATED", "DISKS", "CONSISTENCY", "STATE", "WHY"], rows),
    );
  });
}

/** `blockvault restore --vm-point ID --to DIR [--force]`. */
export async function restoreVmCommand(ctx: CommandContext, id: string, dir: string): Promise<void> {
  if (ctx.positionals.length > 0)
    throw new ValidationError(`restore --vm-point takes no RECOVERY_POINT_ID, got "${ctx.positionals[0]}"`);
  if (ctx.values.offset !== undefined || ctx.values.length !== undefined) {
    throw new ValidationError("restore --vm-point restores whole disks: --offset and --length do not apply");
  }
  await withVault(ctx.global, async (vault) => {
    const r = await vault.restoreVmPoint(id, dir, {
      force: ctx.values.force === true,
      format: restoreFormat(ctx.values.format, false),
    });
    ctx.print(
      r,
      [
        `Restored VM point ${id} of VM "${r.descriptor.vm}" to ${dir} (${r.descriptor.consistency})`,
        ...r.descriptor.disks.map(
          (d) => `  ${d.file}: ${d.disk}, ${formatBytes(d.size)}${d.boot ? ", boot disk" : ""}`,
        ),
        `  ${dir}/vm.json describes them`,
      ].join("\n"),
    );
  });
}

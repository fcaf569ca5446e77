import { localAgent } from "../adapters/local/guest-agents/local-agent.ts";
import { qemuGuestAgent } from "../adapters/local/guest-agents/qemu-ga-agent.ts";
import { LogAlerts } from "../adapters/local/log-alerts.ts";
import { copySnapshots } from "../adapters/local/snapshots/copy-snapshots.ts";
import { lvmSnapshots } from "../adapters/local/snapshots/lvm-snapshots.ts";
import type { VmBackupDeps } from "../engine/vm/backup-vm.ts";
import { ValidationError } from "../errors.ts";
import { AgentKind, SnapshotKind, type VmRecord } from "../model.ts";
import type { Alerts } from "../ports/alerts.ts";
import type { GuestAgent } from "../ports/guest-agent.ts";
import type { SnapshotProvider } from "../ports/snapshot-provider.ts";
import { openSource } from "./open-source.ts";

/**
 * The guest agent and snapshot provider a VM's definition names, for a VM backup on this machine:
 * qemu-ga on its socket, SSM Run Command, or local commands; LVM snapshots, image copies (in
 * `BLOCKVAULT_SNAPSHOT_DIR`, default the temp directory) or EBS multi-volume snapshots.
 */
export async function openVmDeps(vm: VmRecord, alerts: Alerts = new LogAlerts()): Promise<VmBackupDeps> {
  const agent = await agentOf(vm);
  return {
    ...(agent ? { agent } : {}),
    snapshots: await snapshotsOf(vm),
    openSource: (spec) => openSource(spec),
    alerts,
  };
}

async function agentOf(vm: VmRecord): Promise<GuestAgent | undefined> {
  const agent = vm.consistency.agent;
  if (!agent) return undefined;
  switch (agent.kind) {
    case AgentKind.QemuGa:
      return qemuGuestAgent(agent.address);
    case AgentKind.Local:
      return localAgent(vm.consistency.freezeMounts);
    case AgentKind.Ssm: {
      const { ssmGuestAgent } = await import("../adapters/aws/ssm-agent.ts");
      return ssmGuestAgent(agent.address, { mounts: vm.consistency.freezeMounts });
    }
    default:
      throw new ValidationError(`VM ${vm.name}: unknown agent kind ${String(agent.kind)}`);
  }
}

async function snapshotsOf(vm: VmRecord): Promise<SnapshotProvider> {
  switch (vm.snapshot) {
    case SnapshotKind.Copy: {
      const directory = process.env.BLOCKVAULT_SNAPSHOT_DIR;
      return copySnapshots(directory ? { directory } : {});
    }
    case SnapshotKind.Lvm:
      return lvmSnapshots();
    case SnapshotKind.Ebs: {
      const { ebsSnapshots } = await import("../adapters/aws/ebs-multi-snapshots.ts");
      return ebsSnapshots();
    }
    default:
      throw new ValidationError(`VM ${vm.name}: unknown snapshot kind ${String(vm.snapshot)}`);
  }
}

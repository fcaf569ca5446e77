import { Consistency, SnapshotKind } from "../../model.ts";
import type { CommandSpec } from "../spec.ts";
import { OptionKind } from "../spec.ts";
import { APPROVAL_OPTION } from "./protection-commands.ts";

/** Protected VMs: their definition, and their VM points' deletion. */
export const VM_COMMANDS: Readonly<Record<string, CommandSpec>> = {
  vm: {
    summary: "protect a VM (its disks backed up together, consistent through its guest agent)",
    usage: [
      "vm protect NAME --disk SRC [--disk SRC…] [--agent qemu-ga:SOCKET | --agent ssm:INSTANCE_ID | --agent local] [--freeze-mount PATH…] [--pre-script CMD…] [--post-script CMD…] [--snapshot lvm|ebs|copy] [--policy P]",
      "vm list",
      "vm show NAME",
      "vm delete-point VM_POINT_ID [--approval ID]",
      "vm undelete-point VM_POINT_ID",
    ],
    details: [
      "A VM's disks become disks NAME.disk0, NAME.disk1, … of the vault. `backup --vm NAME` runs the pre-scripts, freezes",
      'the --freeze-mount mount points (never "/", never every file system), snapshots every disk, thaws, runs the post-scripts,',
      "then backs each disk up from its snapshot; the VM point commits all of them at once. A watchdog process thaws after the",
      "freeze window even if blockvault dies. Without an agent the point is crash-consistent; the reason is recorded.",
      "SRC is a block device or image file (an LVM logical volume for --snapshot lvm), or ec2://INSTANCE/VOLUME for --snapshot ebs.",
    ],
    options: {
      disk: {
        kind: OptionKind.String,
        arg: "SRC",
        multiple: true,
        help: "a disk of the VM, in order (the first is the boot disk)",
      },
      agent: {
        kind: OptionKind.String,
        arg: "KIND:ADDRESS",
        default: "local when scripts or mounts are given, else none",
        help: "the guest agent: qemu-ga:SOCKET, ssm:INSTANCE_ID or local",
      },
      "freeze-mount": {
        kind: OptionKind.Path,
        arg: "PATH",
        multiple: true,
        default: "none (nothing is frozen)",
        help: "a mount point to freeze around the snapshot",
      },
      "pre-script": {
        kind: OptionKind.String,
        arg: "CMD",
        multiple: true,
        help: "a command run before the freeze (sh -c, in the guest)",
      },
      "post-script": {
        kind: OptionKind.String,
        arg: "CMD",
        multiple: true,
        help: "a command run after the thaw (sh -c, in the guest)",
      },
      "script-timeout": {
        kind: OptionKind.Integer,
        arg: "SECONDS",
        min: 1,
        default: "60",
        help: "how long each script may run",
      },
      "freeze-window-ms": {
        kind: OptionKind.Integer,
        arg: "MS",
        min: 100,
        default: "10000",
        help: "the longest the file systems stay frozen (at most 60000)",
      },
      snapshot: {
        kind: OptionKind.Choice,
        arg: "KIND",
        choices: Object.values(SnapshotKind),
        default: "copy",
        help: "how the disks are captured at one moment",
      },
      policy: { kind: OptionKind.String, arg: "NAME", help: "the VM's backup policy" },
      "boot-disk": {
        kind: OptionKind.Integer,
        arg: "INDEX",
        default: "0",
        help: "which --disk is the boot disk",
      },
      "minimum-consistency": {
        kind: OptionKind.Choice,
        arg: "LEVEL",
        choices: Object.values(Consistency),
        help: "a backup below this level fails and alerts",
      },
      approval: APPROVAL_OPTION,
    },
    run: async (ctx) => (await import("../commands/vm.ts")).vmCommand(ctx),
  },
};

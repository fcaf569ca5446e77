import { JobStatus } from "../../model.ts";
import type { CommandSpec } from "../spec.ts";
import { OptionKind } from "../spec.ts";
import { PROGRESS_OPTION } from "./progress-option.ts";

const IMAGE_KINDS = [
  "IMAGE is one of:",
  "  PATH               a disk image file (raw, qcow2, VHD fixed or dynamic, VHDX, VMDK",
  "                     monolithicSparse or streamOptimized; told by content, not name) or a block device",
  "  s3://BUCKET/KEY    an image object in S3 (ranged reads; the AWS credentials in use)",
  "  ebs://snap-ID      an EBS snapshot, read through the EBS direct APIs (only allocated blocks)",
];

const PROGRESS_STREAM = [
  "With --progress json (the default with --json) stderr carries one JSON object per line:",
  '  {"type":"status","operation":…,"bytesDone":…,"bytesTotal":…,"percent":…,"secondsElapsed":…,"secondsRemaining":…}',
  '  and last {"type":"summary",…} with the totals; --json\'s result is on stdout.',
];

/** The commands that back up, list and restore. */
export const DATA_COMMANDS: Readonly<Record<string, CommandSpec>> = {
  init: {
    summary: "create a vault and its keyring",
    usage: ["init [--name NAME] [--block-size BYTES]"],
    details: [
      "Creates the vault and its keyring (mode 0600). Back up the keyring separately: without it nobody can read the vault.",
    ],
    options: {
      name: {
        kind: OptionKind.String,
        arg: "NAME",
        default: "the vault directory's name",
        help: "the vault's name",
      },
      "block-size": {
        kind: OptionKind.Integer,
        arg: "BYTES",
        default: "131072 (128 KiB)",
        help: "block size, a power of two from 4096 to 4194304; fixed for the vault's life",
      },
    },
    run: async (ctx) => (await import("../commands/init.ts")).initCommand(ctx),
  },
  backup: {
    summary: "back up a disk image as a new recovery point",
    usage: ["backup IMAGE --disk NAME [--progress MODE]", "backup --vm NAME"],
    details: [
      "Incremental against the disk's latest recovery point; a disk whose size changed is refused.",
      ...IMAGE_KINDS,
      ...PROGRESS_STREAM,
    ],
    options: {
      disk: {
        kind: OptionKind.String,
        arg: "NAME",
        help: "the disk the recovery point belongs to (required without --vm)",
      },
      vm: {
        kind: OptionKind.String,
        arg: "NAME",
        help: "back up this protected VM: one VM point of all its disks",
      },
      progress: PROGRESS_OPTION,
    },
    run: async (ctx) => (await import("../commands/backup.ts")).backupCommand(ctx),
  },
  list: {
    summary: "list recovery points, newest first",
    usage: ["list [--disk NAME]", "list --vm NAME"],
    options: {
      disk: { kind: OptionKind.String, arg: "NAME", default: "every disk", help: "only this disk's points" },
      vm: {
        kind: OptionKind.String,
        arg: "NAME",
        help: "this VM's VM points, with their consistency and why",
      },
    },
    run: async (ctx) => (await import("../commands/list.ts")).listCommand(ctx),
  },
  restore: {
    summary: "restore a recovery point (or a byte range of it) to a new file",
    usage: [
      "restore RECOVERY_POINT_ID --to PATH [--force] [--format raw|vhd|qcow2] [--offset BYTES --length BYTES] [--progress MODE]",
      "restore --vm-point ID --to DIR [--force] [--format raw|vhd|qcow2]",
    ],
    details: [
      "Holes stay sparse. The disk's source, the vault's directory and its keyring are never overwritten.",
      "--format vhd writes a fixed VHD (the disk and its footer); --format qcow2 a qcow2 (version 3) image with holes left unallocated.",
      ...PROGRESS_STREAM,
    ],
    options: {
      to: {
        kind: OptionKind.Path,
        arg: "PATH",
        required: true,
        help: "the file to restore into (with --vm-point, a directory)",
      },
      "vm-point": {
        kind: OptionKind.String,
        arg: "ID",
        help: "restore every disk of this VM point, and a vm.json, into --to DIR",
      },
      force: { kind: OptionKind.Flag, default: "off", help: "replace PATH if it exists" },
      format: {
        kind: OptionKind.Choice,
        arg: "FORMAT",
        choices: ["raw", "vhd", "qcow2"],
        default: "raw",
        help: "the image format to write (whole-disk restores only)",
      },
      offset: {
        kind: OptionKind.Integer,
        arg: "BYTES",
        help: "restore from this byte of the disk (with --length)",
      },
      length: { kind: OptionKind.Integer, arg: "BYTES", help: "restore this many bytes (with --offset)" },
      progress: PROGRESS_OPTION,
    },
    run: async (ctx) => (await import("../commands/restore.ts")).restoreCommand(ctx),
  },
  read: {
    summary: "read bytes of a recovery point without restoring it (to stdout or a new file)",
    usage: ["read RECOVERY_POINT_ID [--offset BYTES] [--length BYTES] [--out PATH]"],
    details: [
      "Fetches only the blocks the range covers, verifying each; holes read as zeros without I/O.",
      "Without --out the bytes go to stdout; with it, into a new file (an existing one is refused).",
    ],
    options: {
      offset: {
        kind: OptionKind.Integer,
        arg: "BYTES",
        default: "0",
        help: "the first byte of the disk to read",
      },
      length: {
        kind: OptionKind.Integer,
        arg: "BYTES",
        default: "to the end of the disk",
        help: "how many bytes",
      },
      out: {
        kind: OptionKind.Path,
        arg: "PATH",
        default: "stdout",
        help: "a new file to write the bytes into",
      },
    },
    run: async (ctx) => (await import("../commands/read.ts")).readCommand(ctx),
  },
  files: {
    summary: "list, find and extract the files inside a recovery point, without restoring the disk",
    usage: [
      "files partitions RECOVERY_POINT_ID",
      "files ls RECOVERY_POINT_ID [PATH] [--partition ID]",
      "files get RECOVERY_POINT_ID PATH --to DEST [--partition ID] [--force]",
      "files find RECOVERY_POINT_ID GLOB [--partition ID]",
    ],
    details: [
      "Reads the disk's partition table (MBR with logical partitions, or GPT), the LVM volume groups on it, and the ext2/3/4 and FAT12/16/32 file systems, fetching only the blocks they touch; other file systems (NTFS, XFS, btrfs) are listed and can be attached with export --nbd.",
      "ID is a partition number (1, 5 …), VG/LV for an LVM logical volume, or disk for a disk without a table; without --partition the only volume with files is used, and ls lists the partitions when there are several.",
      "get copies a file, or a directory and all under it, keeping modes, modification times, symlinks (as symlinks), hard links and holes; it writes beside DEST and renames into place, and refuses an existing DEST without --force.",
      "find matches GLOB against absolute paths (* within a name, ** across directories); a GLOB without / matches names at any depth, in every partition with files.",
      "Reading files needs the operator role, and is audited (files.list, files.get, files.find) with the partition and path. A missing path exits 3; a damaged table or file system exits 11.",
    ],
    options: {
      partition: {
        kind: OptionKind.String,
        arg: "ID",
        default: "the only one with files",
        help: "the partition or VG/LV",
      },
      to: { kind: OptionKind.Path, arg: "DEST", help: "get: where the file or directory is written" },
      force: { kind: OptionKind.Flag, help: "get: replace an existing DEST" },
    },
    run: async (ctx) => (await import("../commands/files.ts")).filesCommand(ctx),
  },
  export: {
    summary: "serve a recovery point read-only as a network block device (NBD) for nbd-client or qemu",
    usage: ["export RECOVERY_POINT_ID --nbd HOST:PORT [--name NAME]"],
    details: [
      "Instant access: attach the point with nbd-client, read it with qemu-img or nbdcopy, or boot a VM from it (qemu-system … -drive file=nbd://HOST:PORT/NAME,readonly=on) while a full restore runs. Only the blocks read are fetched and verified; the guest's own drivers read any file system (NTFS, XFS, LVM, btrfs).",
      "The export is read-only (writes, trims and zeroing are refused with EPERM) and served until Ctrl-C. NBD here has no authentication or TLS, so HOST must be a loopback address; reach it from elsewhere through an SSH tunnel.",
      "Exporting needs the operator role and is audited (point.export) with the address.",
    ],
    options: {
      nbd: {
        kind: OptionKind.String,
        arg: "HOST:PORT",
        required: true,
        help: "where to listen (loopback; port 0 picks a free one)",
      },
      name: {
        kind: OptionKind.String,
        arg: "NAME",
        default: "the point's ID",
        help: "the export's name (the default export serves it too)",
      },
    },
    run: async (ctx) => (await import("../commands/export.ts")).exportCommand(ctx),
  },
  copy: {
    summary: "copy a recovery point into a second vault, as a point of its own there",
    usage: [
      "copy RECOVERY_POINT_ID --to-vault DIR [--to-keyring PATH] [--to-token TOKEN] [--disk NAME] [--retain-days N]",
      "copy RECOVERY_POINT_ID --to-vault s3://BUCKET[/PREFIX] --to-table TABLE [--to-kms-key KEY] [--disk NAME] [--retain-days N]",
    ],
    details: [
      "The copy is a backup of the point's bytes into the destination: deduplicated against what the destination holds, encrypted under the destination's keys, kept by its own retention, lock and soft delete, and restorable when this vault is gone.",
      "Holes are not read; against the destination's earlier copy of a point of this vault only the blocks that differ are read and sent.",
      "The copy's sourceRef names this vault and point; this vault's audit log records the copy (point.copy).",
      "With --retain-days the copy is kept that many days there (its committed retention end), then expired by the destination's retention; without it, until someone deletes it. A policy's copyTo rules make such copies of every new point on schedule.",
    ],
    options: {
      "to-vault": {
        kind: OptionKind.String,
        arg: "DIR|s3://BUCKET[/PREFIX]",
        help: "the destination vault: an embedded vault's directory, or a vault on S3",
      },
      "to-keyring": {
        kind: OptionKind.Path,
        arg: "PATH",
        default: "the destination's own",
        help: "the destination's keyring",
      },
      "to-token": {
        kind: OptionKind.String,
        arg: "TOKEN",
        help: "an API token of the destination, when it has principals",
      },
      "to-table": {
        kind: OptionKind.String,
        arg: "TABLE",
        help: "aws: the destination's DynamoDB catalog table",
      },
      "to-kms-key": {
        kind: OptionKind.String,
        arg: "KEY",
        help: "aws: the destination's KMS key (default: its config's)",
      },
      disk: {
        kind: OptionKind.String,
        arg: "NAME",
        default: "the point's disk",
        help: "the disk the copy belongs to there",
      },
      "retain-days": {
        kind: OptionKind.Integer,
        arg: "N",
        default: "until deleted",
        help: "days the copy is kept in the destination (1 to 36500)",
      },
      progress: PROGRESS_OPTION,
    },
    run: async (ctx) => (await import("../commands/copy.ts")).copyCommand(ctx),
  },
  jobs: {
    summary: "list backup and restore jobs with status, duration, bytes and errors",
    usage: ["jobs [--status STATUS] [--limit N]"],
    options: {
      status: {
        kind: OptionKind.Choice,
        arg: "STATUS",
        choices: Object.values(JobStatus),
        default: "every status",
        help: "only jobs in this status",
      },
      limit: { kind: OptionKind.Integer, arg: "N", default: "no limit", help: "at most N jobs" },
    },
    run: async (ctx) => (await import("../commands/list.ts")).jobsCommand(ctx),
  },
  report: {
    summary: "usage per vault and protected item: sizes, storage by tier, ratios, jobs, RPO compliance",
    usage: ["report [--since DATE] [--csv]"],
    details: [
      "--json prints the report as GET /reports/usage answers it; --csv one row for the vault, one per item.",
    ],
    options: {
      since: {
        kind: OptionKind.String,
        arg: "DATE",
        default: "30 days ago",
        help: "count jobs and RPO misses from this ISO 8601 date or time on",
      },
      csv: {
        kind: OptionKind.Flag,
        default: "off",
        help: "print CSV (a header row, then the vault and each item)",
      },
    },
    run: async (ctx) => (await import("../commands/usage-report.ts")).reportCommand(ctx),
  },
  demo: {
    summary: "back up, change, back up and restore a sample disk in a throwaway vault",
    usage: ["demo [--size-mib N] [--keep]"],
    options: {
      "size-mib": {
        kind: OptionKind.Integer,
        arg: "N",
        min: 1,
        default: "256",
        help: "the sample disk's size in MiB",
      },
      keep: { kind: OptionKind.Flag, default: "off", help: "keep the throwaway vault and images" },
    },
    run: async (ctx) => (await import("../commands/demo.ts")).demoCommand(ctx),
  },
};

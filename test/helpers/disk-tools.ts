import { execFileSync } from "node:child_process";

/** The Debian package of each tool the file-recovery tests build and read images with. */
const PACKAGES: Record<string, string> = {
  mke2fs: "e2fsprogs",
  debugfs: "e2fsprogs",
  "mkfs.vfat": "dosfstools",
  mcopy: "mtools",
  mmd: "mtools",
  sfdisk: "fdisk",
  sgdisk: "gdisk",
  losetup: "mount",
  pvcreate: "lvm2",
  vgcreate: "lvm2",
  lvcreate: "lvm2",
  lvextend: "lvm2",
  lvs: "lvm2",
  pvs: "lvm2",
  vgremove: "lvm2",
  pvremove: "lvm2",
  nbdinfo: "libnbd-bin",
  nbdcopy: "libnbd-bin",
  "qemu-img": "qemu-utils",
  "nbd-client": "nbd-client",
  tar: "tar",
};

/**
 * Runs `tool` with `args` and returns its stdout. A tool that is not installed fails the test,
 * naming the package to install; a tool that fails shows its stderr.
 */
export function runTool(tool: string, args: readonly string[], options: { input?: string } = {}): string {
  try {
    return execFileSync(tool, args, {
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, LVM_SUPPRESS_FD_WARNINGS: "1" },
      ...(options.input !== undefined ? { input: options.input } : {}),
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") {
      throw new Error(`${tool} is not installed: apt-get install ${PACKAGES[tool] ?? tool}`);
    }
    throw new Error(`${tool} ${args.join(" ")} failed: ${e.stderr ?? e.message}`);
  }
}

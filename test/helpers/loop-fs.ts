import { execFileSync, spawnSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";

/** The Debian packages of the commands the VM tests run. */
const PACKAGES: Readonly<Record<string, string>> = {
  "mkfs.ext4": "e2fsprogs",
  e2fsck: "e2fsprogs",
  dumpe2fs: "e2fsprogs",
  losetup: "mount",
  mount: "mount",
  umount: "mount",
  fsfreeze: "util-linux",
  "qemu-ga": "qemu-guest-agent",
};

/**
 * Throws, naming what to install or enable, unless this process is root, loop devices work and
 * every command in `commands` is installed: the VM tests freeze and snapshot real file systems.
 */
export function requireLoopTools(commands: readonly string[]): void {
  if (process.getuid?.() !== 0)
    throw new Error("the VM consistency tests need root (loop devices, mount, fsfreeze)");
  for (const command of commands) {
    const found = spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
    if (!found)
      throw new Error(`${command} is not installed: apt-get install ${PACKAGES[command] ?? command}`);
  }
  const probe = spawnSync("losetup", ["--find"], { encoding: "utf8" });
  if (probe.status !== 0)
    throw new Error(`loop devices are unavailable here (losetup --find: ${probe.stderr.trim()})`);
}

/** An ext4 file system on a loop device, mounted. */
export interface LoopFs {
  readonly image: string;
  readonly device: string;
  readonly mount: string;
}

/** Makes a `sizeMiB` ext4 image in `dir`, attaches it to a loop device and mounts it. */
export async function makeLoopFs(
  dir: string,
  name: string,
  sizeMiB: number,
  cleanup: (() => void)[],
): Promise<LoopFs> {
  const image = join(dir, `${name}.img`);
  const mount = join(dir, name);
  execFileSync("truncate", ["-s", `${sizeMiB}M`, image]);
  execFileSync("mkfs.ext4", ["-q", "-F", image]);
  const device = execFileSync("losetup", ["--find", "--show", image], { encoding: "utf8" }).trim();
  cleanup.push(() => void spawnSync("losetup", ["--detach", device]));
  await mkdir(mount);
  execFileSync("mount", [device, mount]);
  // Unmounted first (cleanups run last-in first-out), thawed before that in case a test failed frozen.
  cleanup.push(() => void spawnSync("umount", ["--lazy", mount]));
  cleanup.push(() => void spawnSync("fsfreeze", ["--unfreeze", mount]));
  return { image, device, mount };
}

/** Runs the cleanups last-in first-out, each whatever the others did. */
export function runCleanups(cleanup: (() => void)[]): void {
  for (const step of cleanup.splice(0).reverse()) {
    try {
      step();
    } catch {
      // Best effort: the next steps still run.
    }
  }
}

/** `e2fsck -fn` of an image: whether it is clean, and what it said. */
export function e2fsck(image: string): { clean: boolean; output: string } {
  const run = spawnSync("e2fsck", ["-fn", image], { encoding: "utf8" });
  return { clean: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** Whether the superblock of an ext4 image says its journal needs recovery (`dumpe2fs -h`). */
export function needsRecovery(image: string): boolean {
  const out = execFileSync("dumpe2fs", ["-h", image], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const features = /^Filesystem features:\s*(.*)$/m.exec(out)?.[1] ?? "";
  return features.split(/\s+/).includes("needs_recovery");
}

import { execFile } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { promisify } from "node:util";
import { GuestAgentError, ValidationError } from "../../../errors.ts";
import { checkFreezeTargets } from "../../../util/freeze-guard.ts";

const run = promisify(execFile);
/** How long one `fsfreeze` may take. */
const FSFREEZE_TIMEOUT_MS = 10_000;

/**
 * Freezes mount points of this machine with `fsfreeze` (util-linux). On top of the freeze guard,
 * each target must be a mount point of its own (fsfreeze on a plain directory freezes the file
 * system holding it) and not be the root file system under another name (a bind mount of "/").
 */
export async function checkLocalFreezeTargets(mountpoints: readonly string[]): Promise<string[]> {
  const targets = checkFreezeTargets(mountpoints);
  const mounts = await mountPoints();
  const root = (await stat("/")).dev;
  for (const target of targets) {
    if (!mounts.has(target))
      throw new ValidationError(`freeze refused: ${target} is not a mount point of this machine`);
    if ((await stat(target)).dev === root) {
      throw new ValidationError(`freeze refused: ${target} is the root file system mounted again`);
    }
  }
  return targets;
}

/** Freezes `mountpoints` in order; on a failure thaws those already frozen, then rejects. */
export async function freezeLocal(mountpoints: readonly string[]): Promise<string[]> {
  const targets = await checkLocalFreezeTargets(mountpoints);
  const frozen: string[] = [];
  try {
    for (const target of targets) {
      await fsfreeze("--freeze", target);
      frozen.push(target);
    }
  } catch (err) {
    await thawLocal(frozen);
    throw err;
  }
  return frozen;
}

/** Thaws `mountpoints`; one that is not frozen counts as thawed. Returns how many were frozen. */
export async function thawLocal(mountpoints: readonly string[]): Promise<number> {
  let thawed = 0;
  for (const target of mountpoints) {
    try {
      await fsfreeze("--unfreeze", target);
      thawed++;
    } catch (err) {
      // fsfreeze says "Invalid argument" for a file system that is not frozen.
      if (!/Invalid argument/.test((err as Error).message)) throw err;
    }
  }
  return thawed;
}

async function fsfreeze(action: "--freeze" | "--unfreeze", target: string): Promise<void> {
  try {
    await run("fsfreeze", [action, target], { timeout: FSFREEZE_TIMEOUT_MS });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === "ENOENT")
      throw new GuestAgentError("fsfreeze is not installed (Debian/Ubuntu: util-linux)");
    throw new GuestAgentError(`fsfreeze ${action} ${target}: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** This machine's mount points, from /proc/self/mountinfo (octal escapes decoded). */
async function mountPoints(): Promise<Set<string>> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  const decode = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return new Set(info.split("\n").flatMap((line) => (line ? [decode(line.split(" ")[4] ?? "")] : [])));
}

import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** The prefix of every drill's scratch directory. */
export const SCRATCH_PREFIX = "blockvault-drill-";
/** The file in a scratch directory naming the process that made it. */
const OWNER_FILE = "owner.pid";

/** Whether process `pid` is alive on this machine (signal 0 only asks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Makes a private scratch directory (mode 0700, from `mkdtemp`) in `root`, with the id of this
 * process written into it, so that a later drill can tell a directory whose drill was killed
 * from one that is still in use.
 */
export async function makeScratch(root: string): Promise<string> {
  const dir = await mkdtemp(join(root, SCRATCH_PREFIX));
  await writeFile(join(dir, OWNER_FILE), String(process.pid), { mode: 0o600 });
  return dir;
}

/**
 * Removes what drills killed before their cleanup left in `root` (a whole restored disk image
 * each): every scratch directory whose owner process is gone. One that still has a live owner,
 * or whose owner file is not written yet, is left alone. Resolves to how many were removed.
 */
export async function sweepScratch(root: string): Promise<number> {
  let removed = 0;
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory() || !entry.name.startsWith(SCRATCH_PREFIX)) continue;
    const dir = join(root, entry.name);
    const owner = Number(await readFile(join(dir, OWNER_FILE), "utf8").catch(() => ""));
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
    await rm(dir, { recursive: true, force: true });
    removed++;
  }
  return removed;
}

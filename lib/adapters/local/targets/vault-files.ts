import type { Stats } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { ValidationError } from "../../../errors.ts";
import type { VaultFiles } from "../../../model.ts";
/**
 * The path a restore to `path` would write: the real path of an existing target (symlinks
 * followed), else the real path of its directory joined with its name, else `path` resolved.
 */
export async function resolveTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const dir = dirname(resolve(path));
    const real = await realpath(dir).catch(() => dir);
    return join(real, basename(path));
  }
}

function inside(dir: string, target: string): boolean {
  const rel = relative(dir, target);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep));
}

const sameFile = (a: Stats, b: Stats | undefined) => b !== undefined && a.dev === b.dev && a.ino === b.ino;

/**
 * Refuses (ValidationError, naming `path`) a restore target that is inside a vault directory or
 * is one of the vault's files: by resolved path, or, for an existing target, by device and inode,
 * which also catches a hard link to one of them elsewhere.
 */
export async function refuseVaultFiles(
  path: string,
  target: string,
  existing: Stats | undefined,
  own: VaultFiles,
): Promise<void> {
  for (const dir of own.directories) {
    const real = await resolveTarget(dir);
    if (inside(real, target)) {
      throw new ValidationError(
        `refusing to restore onto ${path}: it is inside the vault's directory ${dir}`,
      );
    }
  }
  for (const file of own.files) {
    if (
      (await resolveTarget(file)) === target ||
      (existing && sameFile(existing, await statOrUndefined(file)))
    ) {
      throw new ValidationError(`refusing to restore onto ${path}: it is the vault's file ${file}`);
    }
  }
  // A second name for a file inside the vault (a pack, the config): found only by its inode.
  if (existing && existing.nlink > 1) {
    for (const dir of own.directories) {
      const twin = await findInode(dir, existing);
      if (twin)
        throw new ValidationError(
          `refusing to restore onto ${path}: it is a hard link to the vault's file ${twin}`,
        );
    }
  }
}

async function statOrUndefined(file: string): Promise<Stats | undefined> {
  return stat(file).catch(() => undefined);
}

/** The first file under `dir` with the inode of `target`, if any. */
async function findInode(dir: string, target: Stats): Promise<string | undefined> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const file = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = await findInode(file, target);
      if (found) return found;
    } else if (entry.isFile() && sameFile(target, await statOrUndefined(file))) return file;
  }
  return undefined;
}

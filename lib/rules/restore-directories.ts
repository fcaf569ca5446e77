import { realpath, stat } from "node:fs/promises";
import { isAbsolute } from "node:path";
import type { VaultContext } from "../engine/store/vault-config.ts";
import { ConflictError, NotFoundError, ValidationError } from "../errors.ts";
import type { VaultSettings } from "../model.ts";

/** Control characters (NUL included) and DEL: never part of a path a person meant. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Refuses a path that is not absolute or holds a control character, naming `what`. */
export function checkPathText(what: string, path: string): void {
  if (hasControl(path))
    throw new ValidationError(`${what} must not contain control characters (NUL included)`);
  if (!isAbsolute(path))
    throw new ValidationError(`${what} must be an absolute path, got ${JSON.stringify(path)}`);
}

/**
 * The directory as stored: its realpath, so a symlink swapped in later under the name given does
 * not move where restores may write, and so two spellings of one directory are one entry.
 */
async function existingDirectory(dir: string): Promise<string> {
  checkPathText("the restore directory", dir);
  const real = await realpath(dir).catch(() => {
    throw new NotFoundError(`restore directory ${dir} does not exist`);
  });
  if (!(await stat(real)).isDirectory())
    throw new ValidationError(`restore directory ${dir} is not a directory`);
  return real;
}

async function writeSettings(ctx: VaultContext, change: (s: VaultSettings) => VaultSettings) {
  const current = await ctx.deps.catalog.getSettings(ctx.config.vaultId);
  const next = { ...change(current), version: current.version + 1 };
  await ctx.deps.catalog.putSettings(next, current.version);
  return next;
}

/** Allows restores over HTTP to write files into `dir` (and the directories below it). */
export async function addRestoreDirectory(ctx: VaultContext, dir: string): Promise<VaultSettings> {
  const real = await existingDirectory(dir);
  return writeSettings(ctx, (s) => {
    if (s.restoreDirectories.includes(real))
      throw new ConflictError(`restore directory ${real} is already allowed`);
    return { ...s, restoreDirectories: [...s.restoreDirectories, real].sort() };
  });
}

/** Stops restores over HTTP from writing into `dir` (named as listed, or by a path to it). */
export async function removeRestoreDirectory(ctx: VaultContext, dir: string): Promise<VaultSettings> {
  checkPathText("the restore directory", dir);
  const real = await realpath(dir).catch(() => dir);
  return writeSettings(ctx, (s) => {
    const rest = s.restoreDirectories.filter((d) => d !== dir && d !== real);
    if (rest.length === s.restoreDirectories.length)
      throw new NotFoundError(`${dir} is not an allowed restore directory`);
    return { ...s, restoreDirectories: rest };
  });
}

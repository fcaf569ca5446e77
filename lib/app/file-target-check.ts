import { lstat, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, sep } from "node:path";
import { AccessDeniedError, AlreadyExistsError, ValidationError } from "../errors.ts";
import { checkPathText } from "../rules/restore-directories.ts";

/** What a file restore requested over HTTP is checked against. */
export interface FileTargetRules {
  /** The vault's `restoreDirectories` (realpaths). */
  readonly directories: readonly string[];
  /** Replace an existing file. */
  readonly force: boolean;
  /** Whether the caller's roles allow replacing a file (checked when `force`). */
  readonly mayOverwrite: boolean;
}

const FIELD = "body.target.path";

function inside(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/**
 * Where a file restore requested over HTTP may write, or why not, decided before anything is
 * queued: an absolute path without control characters or `.`/`..` segments, whose parent exists
 * and, resolved through every symlink, lies inside one of the vault's restore directories; the
 * file itself is no symlink (a restore would follow it out) and no directory; an existing one is
 * replaced only with `force`, by a caller whose role allows it. Returns the path with its parent
 * resolved, which is what the restore opens. Run again when the restore opens its target, so a
 * directory swapped for a symlink in between is caught (the window left is the one between that
 * check and the open).
 */
export async function checkFileTarget(path: string, rules: FileTargetRules): Promise<string> {
  checkPathText(FIELD, path);
  if (path.split("/").some((part) => part === "." || part === "..")) {
    throw new ValidationError(`${FIELD} must not contain "." or ".." segments`);
  }
  if (path.endsWith("/")) throw new ValidationError(`${FIELD} names a directory, not a file`);
  if (rules.force && !rules.mayOverwrite) {
    throw new AccessDeniedError("target.force (replacing an existing file) needs the contributor role");
  }
  if (rules.directories.length === 0) {
    throw new AccessDeniedError(
      "file restores over HTTP are refused: the vault's restoreDirectories setting is empty (a security admin allows a directory with `blockvault vault restore-dirs add DIR`)",
    );
  }
  // Where the parent is once every existing part is resolved: outside the directories is 403
  // whether or not it exists, so a caller cannot map the server's tree by 400 against 403.
  const parent = await resolvedAsFarAsExists(dirname(path));
  if (!rules.directories.some((dir) => inside(dir, parent.path))) {
    throw new AccessDeniedError(
      `${FIELD} is outside the vault's restore directories (restoreDirectories: ${rules.directories.join(", ")})`,
    );
  }
  if (!parent.exists || !(await stat(parent.path)).isDirectory()) {
    throw new ValidationError(`${FIELD}: the directory ${dirname(path)} does not exist`);
  }
  const target = join(parent.path, basename(path));
  const existing = await lstat(target).catch(() => undefined);
  if (!existing) return target;
  if (existing.isSymbolicLink())
    throw new AccessDeniedError(`${FIELD} is a symbolic link: restores do not follow links`);
  if (existing.isDirectory()) throw new ValidationError(`${FIELD} is a directory`);
  if (!existing.isFile()) throw new ValidationError(`${FIELD} is not a regular file`);
  if (!rules.force) throw new AlreadyExistsError(`${FIELD} already exists (set target.force to replace it)`);
  return target;
}

/** `dir` with its longest existing ancestor resolved through symlinks, the rest appended. */
async function resolvedAsFarAsExists(dir: string): Promise<{ path: string; exists: boolean }> {
  const rest: string[] = [];
  let at = dir;
  for (;;) {
    const real = await realpath(at).catch(() => undefined);
    if (real !== undefined) return { path: join(real, ...rest), exists: rest.length === 0 };
    const up = dirname(at);
    if (up === at) return { path: dir, exists: false };
    rest.unshift(basename(at));
    at = up;
  }
}

import { stat } from "node:fs/promises";
import { ValidationError } from "../errors.ts";

/**
 * Refuses a `--vault` that cannot be a vault directory — a regular file, or a path under one —
 * with a message naming it, before anything tries to read or create the vault's files there
 * (which fails deep inside with ENOTDIR). A directory that does not exist is left to the caller:
 * `init` creates it, and the other commands say it is not a vault.
 */
export async function checkVaultDir(dir: string): Promise<void> {
  const found = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    if (err.code === "ENOTDIR")
      throw new ValidationError(`--vault ${dir} is not a directory: a part of its path is a file`);
    throw new ValidationError(`--vault ${dir} cannot be read (${err.code ?? err.message})`, { cause: err });
  });
  if (found && !found.isDirectory()) {
    throw new ValidationError(`--vault ${dir} is a file, not a vault directory`);
  }
}

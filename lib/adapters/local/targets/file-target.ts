import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, link, lstat, open, readdir, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { AlreadyExistsError, SourceError, ValidationError } from "../../../errors.ts";
import { RestoreFormat } from "../../../model.ts";
import { type FileTargetOptions, LOCAL_FILE, type WithLocalFile } from "../../../ports/local-files.ts";
import type { RestoreTarget } from "../../../ports/restore-target.ts";
import { heartbeatEveryMs, livenessWindowMs } from "../../../util/liveness.ts";
import { imageChains } from "../sources/image-chain.ts";
import { inFormat, initialFileSize } from "./format-target.ts";
import { refuseVaultFiles, resolveTarget } from "./vault-files.ts";

export type { FileTargetOptions };

async function realOrResolved(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return resolve(path);
  }
}

/** The prefix of the hidden temporary files of restores into `target`. */
function partialPrefix(target: string): string {
  return `.${basename(target)}.partial-`;
}

/**
 * Removes the temporary files that restores into `target` left when their process died: those
 * untouched for longer than the liveness window (a live restore renews its file's time).
 */
async function removeDeadPartials(target: string): Promise<void> {
  const dir = dirname(target);
  const prefix = partialPrefix(target);
  const names = await readdir(dir).catch(() => [] as string[]);
  const before = Date.now() - livenessWindowMs();
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const info = await lstat(join(dir, name)).catch(() => undefined);
    if (info?.isFile() && info.mtimeMs < before) await rm(join(dir, name), { force: true });
  }
}

/**
 * Restores into a new file. The image is written to a hidden temporary file beside the target
 * (sized up front, so holes stay sparse), flushed, and renamed into place on commit: a failed
 * restore leaves no partial target, and one whose process was killed leaves a temporary file that
 * the next restore into the same path removes. An existing target is refused unless `force`;
 * the source of the disk and the vault's own files are refused always.
 */
export async function openFileTarget(
  path: string,
  size: number,
  options: FileTargetOptions = {},
): Promise<RestoreTarget> {
  const target = await resolveTarget(path);
  for (const { image, backingFiles } of await imageChains(options.protectedPaths ?? [])) {
    if ((await realOrResolved(image)) === target) {
      throw new ValidationError(`refusing to restore onto ${path}: it is the source of the backed-up disk`);
    }
    for (const file of backingFiles) {
      if ((await realOrResolved(file)) === target) {
        throw new ValidationError(
          `refusing to restore onto ${path}: it is a backing file of ${image}, the source of the backed-up disk`,
        );
      }
    }
  }
  const existing = await stat(target).catch(() => undefined);
  if (options.vaultFiles) await refuseVaultFiles(path, target, existing, options.vaultFiles);
  if (existing?.isDirectory()) throw new ValidationError(`restore target ${path} is a directory`);
  if (existing && !options.force) {
    throw new AlreadyExistsError(`restore target ${path} already exists (use --force to replace it)`);
  }
  if (existing && !existing.isFile())
    throw new ValidationError(`restore target ${path} is not a regular file`);
  await removeDeadPartials(target);
  const temp = join(dirname(target), `${partialPrefix(target)}${randomBytes(6).toString("hex")}`);
  let handle: FileHandle;
  try {
    handle = await open(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  } catch (cause) {
    throw new SourceError(`cannot create restore target in ${dirname(target)}: ${(cause as Error).message}`, {
      cause,
    });
  }
  const format = options.format ?? RestoreFormat.Raw;
  await handle.truncate(initialFileSize(size, format));
  let done = false;
  // The file's time says its restore is alive, even while it waits for data to write.
  const keepFresh = setInterval(() => {
    if (!done) handle.utimes(new Date(), new Date()).catch(() => undefined);
  }, heartbeatEveryMs());
  keepFresh.unref();
  const opened: RestoreTarget & WithLocalFile = {
    description: path,
    // Worker threads write verified blocks straight into the temporary file.
    [LOCAL_FILE]: { fd: handle.fd },
    async write(offset, data) {
      let written = 0;
      while (written < data.length) {
        const r = await handle.write(data, written, data.length - written, offset + written);
        written += r.bytesWritten;
      }
    },
    // Writing back during the restore overlaps the disk with decrypting and verifying, instead
    // of leaving the whole image to the final sync.
    async flush() {
      if (!done) await handle.datasync();
    },
    async commit() {
      clearInterval(keepFresh);
      await handle.sync();
      await handle.close();
      done = true;
      if (options.force) await rename(temp, target);
      else await placeExclusively(temp, target, path);
      return target;
    },
    async abort() {
      clearInterval(keepFresh);
      if (!done) {
        done = true;
        await handle.close().catch(() => {});
      }
      await rm(temp, { force: true });
    },
  };
  return inFormat(opened, size, format);
}

/**
 * Puts the finished file in place without replacing anything: a hard link fails if a file
 * appeared at the target since it was checked (rename would silently replace it). Filesystems
 * without hard links fall back to rename.
 */
async function placeExclusively(temp: string, target: string, path: string): Promise<void> {
  try {
    await link(temp, target);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "EEXIST") {
      await rm(temp, { force: true });
      throw new AlreadyExistsError(
        `restore target ${path} appeared during the restore; nothing was replaced`,
      );
    }
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw err;
    await rename(temp, target);
    return;
  }
  await rm(temp, { force: true });
}

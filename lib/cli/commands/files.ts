import { ValidationError } from "../../errors.ts";
import { extract } from "../../files/extract.ts";
import { findFiles } from "../../files/find.ts";
import type { FileEntry } from "../../files/fs/file-system.ts";
import type { PointFiles } from "../../files/point-files.ts";
import { isBrowsable, type Volume } from "../../files/volumes.ts";
import type { FileAccess, Vault } from "../../vault.ts";
import { type CommandContext, requiredOption, withVault } from "../context.ts";
import { formatBytes, formatTime, table } from "../format.ts";

/** `blockvault files ls|get|find|partitions POINT …`: browse and extract without a restore. */
export async function filesCommand(ctx: CommandContext): Promise<void> {
  const [action, pointId, arg, ...rest] = ctx.positionals;
  if (rest.length > 0) throw new ValidationError(`unexpected argument "${rest[0]}"`);
  if (!pointId)
    throw new ValidationError(`missing RECOVERY_POINT_ID (files ${action ?? "ls"} RECOVERY_POINT_ID …)`);
  const partition = typeof ctx.values.partition === "string" ? ctx.values.partition : undefined;
  const run = async (access: FileAccess, fn: (files: PointFiles) => Promise<void>) =>
    withVault(ctx.global, async (vault: Vault) => {
      const files = await vault.openPointFiles(pointId, access);
      try {
        await fn(files);
      } finally {
        await files.close();
      }
    });
  switch (action) {
    case "partitions":
      return run({ action: "files.partitions" }, async (files) => printVolumes(ctx, await files.volumes()));
    case "ls":
      return run(
        { action: "files.list", path: arg ?? "/", ...(partition ? { partition } : {}) },
        async (files) => {
          const volumes = await files.volumes();
          if (partition === undefined && arg === undefined && volumes.filter(isBrowsable).length > 1) {
            return printVolumes(ctx, volumes);
          }
          const { volume, fs } = await files.mount(partition);
          const path = arg ?? "/";
          const top = await fs.stat(path);
          const entries = top.type === "directory" ? await fs.list(path) : [top];
          printEntries(ctx, volume.id, path, entries);
        },
      );
    case "get": {
      if (!arg) throw new ValidationError("missing PATH (files get RECOVERY_POINT_ID PATH --to DEST)");
      const dest = requiredOption(ctx, "to");
      return run({ action: "files.get", path: arg, ...(partition ? { partition } : {}) }, async (files) => {
        const { volume, fs } = await files.mount(partition);
        const result = await extract(fs, arg, dest, { force: ctx.values.force === true });
        ctx.print(
          {
            recoveryPointId: pointId,
            partition: volume.id,
            path: arg,
            to: dest,
            ...result,
            bytesFetched: files.stats.bytesFetched,
          },
          `Extracted ${arg} of partition ${volume.id} into ${dest}: ${result.files} files, ${result.directories} directories, ${result.symlinks} symlinks, ${result.hardLinks} hard links, ${formatBytes(result.bytes)} (fetched ${formatBytes(files.stats.bytesFetched)})`,
        );
      });
    }
    case "find": {
      if (!arg) throw new ValidationError("missing GLOB (files find RECOVERY_POINT_ID GLOB)");
      return run({ action: "files.find", path: arg, ...(partition ? { partition } : {}) }, async (files) => {
        const volumes = partition
          ? [(await files.mount(partition)).volume]
          : (await files.volumes()).filter(isBrowsable);
        const found: { partition: string; path: string; entry: FileEntry }[] = [];
        for (const v of volumes) {
          const { fs } = await files.mount(v.id);
          for await (const f of findFiles(fs, arg)) found.push({ partition: v.id, ...f });
        }
        ctx.print(
          found.map((f) => ({ partition: f.partition, path: f.path, ...entryJson(f.entry) })),
          found.map((f) => (volumes.length > 1 ? `${f.partition}:${f.path}` : f.path)).join("\n"),
        );
      });
    }
    default:
      throw new ValidationError(`unknown files action "${action ?? ""}" (ls, get, find or partitions)`);
  }
}

function printVolumes(ctx: CommandContext, volumes: readonly Volume[]): void {
  ctx.print(
    volumes.map(({ source: _source, ...v }) => ({ ...v, browsable: isBrowsable(v as Volume) })),
    table(
      ["PARTITION", "SCHEME", "OFFSET", "SIZE", "TYPE", "CONTENT"],
      volumes.map((v) => [
        v.id,
        v.scheme,
        String(v.offset),
        formatBytes(v.size),
        v.partitionType ?? "",
        v.problem
          ? `unreadable: ${v.problem}`
          : (v.fileSystem ?? "unknown") + (v.label ? ` (${v.label})` : ""),
      ]),
    ),
  );
}

function entryJson(e: FileEntry) {
  return {
    name: e.name,
    type: e.type,
    size: e.size,
    mode: (e.mode & 0o7777).toString(8).padStart(4, "0"),
    mtime: e.mtime.toISOString(),
  };
}

function printEntries(
  ctx: CommandContext,
  partition: string,
  path: string,
  entries: readonly FileEntry[],
): void {
  ctx.print(
    { partition, path, entries: entries.map(entryJson) },
    table(
      ["MODE", "SIZE", "MTIME", "NAME"],
      entries.map((e) => [
        modeString(e),
        String(e.size),
        formatTime(e.mtime.getTime()),
        e.type === "directory" ? `${e.name}/` : e.name,
      ]),
    ),
  );
}

/** `ls -l`'s mode column: the type letter and the nine permission bits. */
function modeString(e: FileEntry): string {
  const letter = { file: "-", directory: "d", symlink: "l", other: "?" }[e.type];
  const bits = "rwxrwxrwx".split("").map((c, i) => (e.mode & (1 << (8 - i)) ? c : "-"));
  return letter + bits.join("");
}

import { DiskFormatError, NotFoundError, ValidationError } from "../../errors.ts";
import type { ByteSource } from "../byte-source.ts";
import { type FatDirEntry, parseDirectory } from "./fat-directory.ts";
import { type FatVolume, fatVolume } from "./fat-volume.ts";
import { type FileEntry, type FileSystemReader, normalizeFsPath, type OpenFile } from "./file-system.ts";

/** `vfat` when `boot` (the first sector) is a FAT12/16/32 boot sector. */
export function fatKind(boot: Buffer): string | undefined {
  if (boot.length < 512 || boot.readUInt16LE(510) !== 0xaa55) return undefined;
  const jump = boot[0] === 0xeb || boot[0] === 0xe9;
  const named = /^FAT/.test(boot.toString("latin1", 54, 57)) || boot.toString("latin1", 82, 87) === "FAT32";
  return jump && named ? "vfat" : undefined;
}

/** Entries one FAT directory may hold, as the specification bounds it. */
const MAX_DIR_ENTRIES = 65536;

/**
 * Opens the FAT12/16/32 file system on `source`, read-only, written from Microsoft's FAT
 * specification: long names (VFAT), the lowercase flags Windows and Linux set on short names,
 * cluster chains checked for loops and links outside the volume. FAT has no owners or modes:
 * files read as 0644, directories 0755; times are taken as UTC.
 */
export async function openFat(source: ByteSource, boot: Buffer): Promise<FileSystemReader> {
  return new FatReader(source, fatVolume(source, boot));
}

class FatReader implements FileSystemReader {
  readonly kind = "vfat";
  readonly #source: ByteSource;
  readonly #volume: FatVolume;
  readonly #where: string;
  readonly #dirs = new Map<string, Promise<FatDirEntry[]>>();

  constructor(source: ByteSource, volume: FatVolume) {
    this.#source = source;
    this.#volume = volume;
    this.#where = `vfat file system of ${source.name}`;
  }

  async list(path: string): Promise<FileEntry[]> {
    const at = normalizeFsPath(path);
    const dir = await this.#entry(at);
    if (dir && dir.type !== "directory")
      throw new ValidationError(`${at} in the ${this.#where} is not a directory`);
    const entries = await this.#directory(at, dir);
    return [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async stat(path: string): Promise<FileEntry> {
    const at = normalizeFsPath(path);
    return (
      (await this.#entry(at)) ?? { name: "/", type: "directory", size: 0, mode: 0o40755, mtime: new Date(0) }
    );
  }

  async readlink(path: string): Promise<string> {
    throw new ValidationError(`${normalizeFsPath(path)}: FAT has no symbolic links`);
  }

  async open(path: string): Promise<OpenFile> {
    const at = normalizeFsPath(path);
    const entry = await this.#entry(at);
    if (entry?.type !== "file") throw new ValidationError(`${at} in the ${this.#where} is not a file`);
    const v = this.#volume;
    const needed = Math.ceil(entry.size / v.clusterBytes);
    const clusters =
      entry.size === 0 ? [] : await v.chain(entry.firstCluster, `${at} in the ${this.#where}`, needed);
    if (clusters.length < needed) {
      throw new DiskFormatError(
        `${this.#where}: ${at} has ${clusters.length} clusters, its size needs ${needed}`,
      );
    }
    return {
      size: entry.size,
      read: (position, length) =>
        this.#readClusters(clusters, position, Math.min(length, entry.size - position)),
      close: async () => {},
    };
  }

  async close(): Promise<void> {}

  /** Bytes of a file from its clusters, reading runs of consecutive clusters at once. */
  async #readClusters(clusters: number[], position: number, length: number): Promise<Buffer> {
    if (length <= 0) return Buffer.alloc(0);
    const size = this.#volume.clusterBytes;
    const parts: Buffer[] = [];
    let at = position;
    while (at < position + length) {
      const index = Math.floor(at / size);
      let last = index;
      const end = position + length;
      while ((last + 1) * size < end && clusters[last + 1] === clusters[last]! + 1) last++;
      const skip = at - index * size;
      const take = Math.min((last + 1) * size, end) - at;
      parts.push(await this.#source.read(this.#volume.clusterOffset(clusters[index]!) + skip, take));
      at += take;
    }
    return Buffer.concat(parts, length);
  }

  /** The entry at `path`, undefined for the root; a missing one is a NotFoundError. */
  async #entry(path: string): Promise<FatDirEntry | undefined> {
    if (path === "/") return undefined;
    const parentPath = path.slice(0, path.lastIndexOf("/")) || "/";
    const name = path.slice(path.lastIndexOf("/") + 1);
    const parent = await this.#entry(parentPath);
    if (parent && parent.type !== "directory") {
      throw new NotFoundError(`${path} does not exist in the ${this.#where}`);
    }
    const found = (await this.#directory(parentPath, parent)).find(
      (e) => e.name.toLowerCase() === name.toLowerCase() || e.shortName.toLowerCase() === name.toLowerCase(),
    );
    if (!found) throw new NotFoundError(`${path} does not exist in the ${this.#where}`);
    return found;
  }

  /** The parsed entries of the directory at `path` (`dir` undefined: the root), cached. */
  #directory(path: string, dir: FatDirEntry | undefined): Promise<FatDirEntry[]> {
    let entries = this.#dirs.get(path);
    if (!entries) {
      entries = this.#readDirectory(path, dir);
      this.#dirs.set(path, entries);
    }
    return entries;
  }

  async #readDirectory(path: string, dir: FatDirEntry | undefined): Promise<FatDirEntry[]> {
    const v = this.#volume;
    const where = `directory ${path} of the ${this.#where}`;
    let bytes: Buffer;
    if (!dir && v.rootRegion) {
      bytes = await this.#source.read(v.rootRegion.offset, v.rootRegion.length);
    } else {
      const first = dir ? dir.firstCluster : v.rootCluster;
      const max = Math.ceil((MAX_DIR_ENTRIES * 32) / v.clusterBytes);
      const clusters = await v.chain(first, where, max);
      bytes = await this.#readClusters(clusters, 0, clusters.length * v.clusterBytes);
    }
    return parseDirectory(bytes, where);
  }
}

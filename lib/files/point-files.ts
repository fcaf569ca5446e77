import type { PointReader } from "../engine/read/point-reader.ts";
import { ArchivedObjectError } from "../errors.ts";
import type { ByteSource } from "./byte-source.ts";
import { openFileSystem } from "./fs/detect.ts";
import type { FileSystemReader } from "./fs/file-system.ts";
import { listVolumes, pickVolume, type Volume } from "./volumes.ts";

/** A point's reader as a byte source, its name for messages; an archived block says what to do. */
export function pointSource(reader: PointReader): ByteSource {
  const name = `recovery point ${reader.pointId}`;
  return {
    name,
    size: reader.size,
    read: (offset, length) =>
      reader.read(offset, length).catch((err: unknown) => {
        if (!(err instanceof ArchivedObjectError)) throw err;
        throw new ArchivedObjectError(
          `${name} is in the archive tier: restore it (which rehydrates its packs) before reading its files (${err.message})`,
          { cause: err },
        );
      }),
  };
}

/** A mounted volume: which one, and its files. */
export interface MountedVolume {
  readonly volume: Volume;
  readonly fs: FileSystemReader;
}

/**
 * The partitions and files of one recovery point, read through its point reader: only the
 * blocks the tables, directories and files touch are fetched. Close it to unmount and drop the
 * reader's cache.
 */
export class PointFiles {
  readonly #reader: PointReader;
  readonly #disk: ByteSource;
  #volumes: Promise<Volume[]> | undefined;
  readonly #mounted = new Map<string, Promise<MountedVolume>>();

  constructor(reader: PointReader) {
    this.#reader = reader;
    this.#disk = pointSource(reader);
  }

  get pointId(): string {
    return this.#reader.pointId;
  }

  /** What the reader has fetched so far. */
  get stats() {
    return this.#reader.stats;
  }

  /** The disk's partitions and logical volumes, with what each holds. */
  volumes(): Promise<Volume[]> {
    this.#volumes ??= listVolumes(this.#disk);
    return this.#volumes;
  }

  /** Mounts the volume `partition` names, or the only one with files when none is named. */
  async mount(partition?: string): Promise<MountedVolume> {
    const volume = pickVolume(await this.volumes(), partition, this.#disk.name);
    let mounted = this.#mounted.get(volume.id);
    if (!mounted) {
      mounted = openFileSystem(volume.source, volume.fileSystem).then((fs) => ({ volume, fs }));
      mounted.catch(() => this.#mounted.delete(volume.id));
      this.#mounted.set(volume.id, mounted);
    }
    return mounted;
  }

  async close(): Promise<void> {
    for (const mounted of this.#mounted.values()) {
      await mounted.then((m) => m.fs.close()).catch(() => undefined);
    }
    this.#mounted.clear();
    this.#reader.close();
  }
}

import { openFileSource } from "./file-source.ts";

/** A local image and the backing files its format says it reads from. */
export interface ImageChain {
  readonly image: string;
  /** The backing files, nearest first; empty for an image without any. */
  readonly backingFiles: readonly string[];
}

/**
 * The backing chain of each local image in `paths` (a qcow2 overlay's base images): a restore
 * must no more overwrite a disk's base image than the disk's own file, or the disk would change
 * under its overlay. A path that is not a readable local image has no chain.
 */
export async function imageChains(paths: readonly string[]): Promise<ImageChain[]> {
  return Promise.all(
    paths.map(async (image) => {
      const source = await openFileSource(image).catch(() => undefined);
      if (!source) return { image, backingFiles: [] };
      const backingFiles = "backingFiles" in source ? (source.backingFiles as readonly string[]) : [];
      await source.close();
      return { image, backingFiles };
    }),
  );
}

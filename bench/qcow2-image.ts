import { stat } from "node:fs/promises";
import { join } from "node:path";
import { run } from "./proc.ts";

/** The pristine image as qcow2, or why there is none. */
export type Qcow2Image = { readonly path: string } | { readonly reason: string };

/**
 * The pristine raw image converted to qcow2 by qemu-img (64 KiB clusters, uncompressed: the
 * layout KVM and OpenStack images have), kept beside it for later runs. Its backup is timed
 * next to the raw image's, so the cost of reading through qcow2's tables shows.
 */
export async function qcow2Copy(pristine: string, imageDir: string): Promise<Qcow2Image> {
  const path = join(imageDir, "pristine.qcow2");
  const [raw, copy] = await Promise.all([stat(pristine), stat(path).catch(() => undefined)]);
  if (copy && copy.mtimeMs >= raw.mtimeMs) return { path };
  try {
    await run("qemu-img", ["convert", "-O", "qcow2", "-o", "compat=1.1", pristine, path]);
    return { path };
  } catch (err) {
    return {
      reason: `qemu-img could not convert the image (install qemu-utils): ${(err as Error).message.split("\n")[0]}`,
    };
  }
}

import { realpath } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { ValidationError } from "../../../errors.ts";
import type { BackingReference } from "../../../formats/image-layout.ts";
import type { VolumeSource } from "../../../ports/volume-source.ts";

/** Longest backing chain followed: deeper ones are refused, as are loops. */
export const MAX_CHAIN_DEPTH = 16;

/** How a backing image is opened: the file source itself, with the chain so far. */
export type OpenBacking = (
  path: string,
  options: { readonly raw?: boolean; readonly chain: readonly string[] },
) => Promise<VolumeSource>;

/** The format family each of blockvault's source formats belongs to, in qemu's names. */
const FAMILY: Readonly<Record<string, string>> = {
  raw: "raw",
  "block-device": "raw",
  qcow2: "qcow2",
  "vhd-fixed": "vpc",
  "vhd-dynamic": "vpc",
  vhdx: "vhdx",
  "vmdk-monolithic-sparse": "vmdk",
  "vmdk-stream-optimized": "vmdk",
};

/**
 * Opens the image `ref` names as the backing file of the image at `imagePath`: a relative name
 * is relative to the image's directory (as qemu resolves it, not to the working directory). A
 * backing file declared `raw` is read as raw whatever it holds; one declared in another format
 * must be in it. Protocol names (`json:`, `nbd://`) are refused: only local files are followed.
 *
 * @throws ValidationError naming the image for a loop, a chain deeper than {@link MAX_CHAIN_DEPTH},
 *   a protocol name or a format that disagrees; SourceError when the backing file cannot be opened.
 */
export async function openBacking(
  imagePath: string,
  format: string,
  ref: BackingReference,
  chain: readonly string[],
  open: OpenBacking,
): Promise<VolumeSource> {
  const fail = (message: string) => new ValidationError(`${format} backing file of ${imagePath}: ${message}`);
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref.name) && !ref.name.startsWith("file:")) {
    throw fail(`"${ref.name}" is not a local file name`);
  }
  const name = ref.name.startsWith("file:") ? ref.name.slice(5) : ref.name;
  const path = isAbsolute(name) ? name : join(dirname(imagePath), name);
  const here = await realpath(imagePath);
  const there = await realpath(path).catch(() => path);
  const seen = [...chain, here];
  if (seen.includes(there)) throw fail(`"${ref.name}" loops back to an image already in the chain`);
  if (seen.length > MAX_CHAIN_DEPTH) throw fail(`the chain is deeper than ${MAX_CHAIN_DEPTH} images`);
  const raw = ref.format === "raw";
  const source = await open(path, { raw, chain: seen });
  if (ref.format && !raw && FAMILY[source.format] !== ref.format) {
    await source.close();
    throw fail(`"${ref.name}" is declared ${ref.format} but holds ${source.format}`);
  }
  return source;
}

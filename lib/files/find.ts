import picomatch from "picomatch";
import type { FileEntry, FileSystemReader } from "./fs/file-system.ts";
import { walk } from "./walk.ts";

/**
 * The entries of `fs` whose absolute path matches `glob` (picomatch syntax: `*` within a name,
 * `**` across directories, `{a,b}`, `[ab]`); a glob without a `/` matches names at any depth.
 */
export async function* findFiles(
  fs: FileSystemReader,
  glob: string,
): AsyncGenerator<{ path: string; entry: FileEntry }> {
  const pattern = glob.includes("/") ? (glob.startsWith("/") ? glob : `/${glob}`) : `**/${glob}`;
  const matches = picomatch(pattern, { dot: true });
  for await (const found of walk(fs, "/")) {
    if (found.path !== "/" && matches(found.path)) yield found;
  }
}

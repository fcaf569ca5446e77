import { posix } from "node:path";
import { pack } from "tar-stream";
import type { FileSystemReader } from "./fs/file-system.ts";
import { walk } from "./walk.ts";

const STEP = 4 * 1024 * 1024;

/**
 * `path` of `fs` and everything under it as a tar archive (the `tar-stream` library writes the
 * headers), produced as it is read: directories, regular files, symlinks and hard links (to the
 * first path of the inode in the archive), with modes and mtimes. Names are relative to the
 * directory's parent, so `/etc/nginx` unpacks as `nginx/…`. `done` runs when it ends either way.
 */
export function tarOf(fs: FileSystemReader, path: string, done: () => Promise<void>): AsyncIterable<Buffer> {
  const archive = pack();
  const base = path === "/" ? "" : posix.basename(path);
  const nameOf = (p: string) => {
    const rel = p === path ? "" : p.slice(path === "/" ? 1 : path.length + 1);
    return [base, rel].filter(Boolean).join("/") || ".";
  };
  const fill = async () => {
    const linked = new Map<number, string>();
    for await (const { path: p, entry } of walk(fs, path)) {
      const common = { name: nameOf(p), mode: entry.mode & 0o7777, mtime: entry.mtime };
      if (entry.type === "directory") await add(archive, { ...common, type: "directory" });
      else if (entry.type === "symlink")
        await add(archive, { ...common, type: "symlink", linkname: await fs.readlink(p) });
      else if (entry.type === "file") {
        const first =
          entry.inode !== undefined && (entry.links ?? 1) > 1 ? linked.get(entry.inode) : undefined;
        if (first) {
          await add(archive, { ...common, type: "link", linkname: first });
          continue;
        }
        if (entry.inode !== undefined && (entry.links ?? 1) > 1) linked.set(entry.inode, common.name);
        await addFile(archive, fs, p, { ...common, size: entry.size });
      }
    }
    archive.finalize();
  };
  fill()
    .catch((err: unknown) => archive.destroy(err as Error))
    .finally(() => done().catch(() => undefined));
  return archive as unknown as AsyncIterable<Buffer>;
}

type Header = Parameters<ReturnType<typeof pack>["entry"]>[0];

function add(archive: ReturnType<typeof pack>, header: Header): Promise<void> {
  return new Promise((resolve, reject) => archive.entry(header, (err) => (err ? reject(err) : resolve())));
}

async function addFile(
  archive: ReturnType<typeof pack>,
  fs: FileSystemReader,
  path: string,
  header: Header & { size: number },
) {
  const file = await fs.open(path);
  try {
    await new Promise<void>((resolve, reject) => {
      const sink = archive.entry(header, (err) => (err ? reject(err) : resolve()));
      (async () => {
        for (let at = 0; at < header.size; at += STEP) {
          const bytes = await file.read(at, Math.min(STEP, header.size - at));
          if (!sink.write(bytes)) await new Promise<void>((r) => sink.once("drain", () => r()));
        }
        sink.end(Buffer.alloc(0));
      })().catch((err: unknown) => {
        sink.destroy(err as Error);
        reject(err);
      });
    });
  } finally {
    await file.close();
  }
}

import { parseRange } from "../../files/byte-range.ts";
import type { FileEntry } from "../../files/fs/file-system.ts";
import type { PointFiles } from "../../files/point-files.ts";
import { tarOf } from "../../files/tar-stream.ts";
import { isBrowsable } from "../../files/volumes.ts";
import type { FileAccess } from "../../vault.ts";
import { type Call, param } from "./call.ts";
import { errorResponse } from "./errors.ts";
import { type HttpResponse, json } from "./types.ts";

const STEP = 4 * 1024 * 1024;

/** Opens the point's files for the caller, audited as `action` with the partition and path. */
function openFiles(call: Call, action: string): Promise<PointFiles> {
  const { partition, path } = call.query as { partition?: string; path?: string };
  const access: FileAccess = {
    action,
    ...(partition !== undefined ? { partition } : {}),
    ...(path !== undefined ? { path } : {}),
  };
  return call.vault.openPointFiles(param(call, "id"), access);
}

/** Runs `fn` with the point's files open, closing them afterwards. */
async function withFiles<T>(call: Call, action: string, fn: (files: PointFiles) => Promise<T>): Promise<T> {
  const files = await openFiles(call, action);
  try {
    return await fn(files);
  } finally {
    await files.close();
  }
}

/** `GET /recovery-points/{id}/partitions`. */
export async function listPartitions(call: Call): Promise<HttpResponse> {
  return withFiles(call, "files.partitions", async (files) => {
    const volumes = await files.volumes();
    return json(200, {
      items: volumes.map(({ source: _source, ...v }) => ({
        ...v,
        browsable: isBrowsable({ ...v, source: _source }),
      })),
    });
  });
}

/** `GET /recovery-points/{id}/files?partition=&path=`: a directory's entries, or one file's. */
export async function listFiles(call: Call): Promise<HttpResponse> {
  return withFiles(call, "files.list", async (files) => {
    const path = (call.query.path as string | undefined) ?? "/";
    const { volume, fs } = await files.mount(call.query.partition as string | undefined);
    const top = await fs.stat(path);
    const entries = top.type === "directory" ? await fs.list(path) : [top];
    const out = [];
    for (const e of entries) {
      const at = top.type === "directory" ? `${path.replace(/\/$/, "")}/${e.name}` : path;
      out.push({ ...entryJson(e), ...(e.type === "symlink" ? { target: await fs.readlink(at) } : {}) });
    }
    return json(200, { partition: volume.id, path, entries: out });
  });
}

/**
 * `GET /recovery-points/{id}/files/content?partition=&path=`: a file's bytes, whole (200) or
 * the one range asked (206), or a directory as a tar stream. The bytes are read from the point
 * as they are sent; the point's files close when the stream ends.
 */
export async function getFileContent(call: Call): Promise<HttpResponse> {
  const files = await openFiles(call, "files.get");
  let handedOff = false;
  try {
    const path = (call.query.path as string | undefined) ?? "/";
    const { fs } = await files.mount(call.query.partition as string | undefined);
    const entry = await fs.stat(path);
    if (entry.type === "directory") {
      handedOff = true;
      const name = `${entry.name === "/" ? "root" : entry.name}.tar`;
      return {
        status: 200,
        headers: { "content-type": "application/x-tar", "content-disposition": attachment(name) },
        body: "",
        stream: tarOf(fs, path, () => files.close()),
      };
    }
    const file = await fs.open(path);
    const range = parseRange(call.headers.range as string | undefined, file.size);
    if (range === "unsatisfiable") {
      await file.close();
      const refused = errorResponse(
        416,
        "RANGE_NOT_SATISFIABLE",
        `the range lies outside ${path} (${file.size} bytes)`,
      );
      return { ...refused, headers: { ...refused.headers, "content-range": `bytes */${file.size}` } };
    }
    const start = range?.start ?? 0;
    const end = range ? range.end + 1 : file.size;
    handedOff = true;
    return {
      status: range ? 206 : 200,
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(end - start),
        "accept-ranges": "bytes",
        "content-disposition": attachment(entry.name),
        ...(range ? { "content-range": `bytes ${start}-${end - 1}/${file.size}` } : {}),
      },
      body: "",
      stream: (async function* () {
        try {
          for (let at = start; at < end; at += STEP) yield await file.read(at, Math.min(STEP, end - at));
        } finally {
          await file.close();
          await files.close();
        }
      })(),
    };
  } finally {
    if (!handedOff) await files.close();
  }
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

/** A Content-Disposition naming the file, ASCII-safe with the UTF-8 name beside it. */
function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
